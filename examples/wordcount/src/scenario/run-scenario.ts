// `npm start`'s scenario: the seed tutorial end to end, printing each step, the audit trail and both results.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Logger, resolveRepoRoot } from '@sealroom/core';
import type { WordcountResult } from '../tally.ts';
import { serverFetch } from './cli-session.ts';
import { type Party, type Tutorial, type TutorialOptions, setUpTutorial } from './tutorial.ts';
import { WordcountError } from '../errors.ts';

const REQUIRED_SERVICES = ['sts', 'kms', 'secrets', 'pubsub'];

export interface ScenarioOptions {
  readonly print?: (line: string) => void;
  /** The server's gRPC endpoint and CA; read from the state directory's endpoints.json when absent. */
  readonly grpc?: TutorialOptions['grpc'];
  readonly stateDir?: string;
  /** The workload's log (the instance's serial console); silent by default. */
  readonly logger?: Logger;
}

export interface ScenarioOutcome {
  readonly results: Readonly<Record<string, WordcountResult>>;
  readonly federatedCalls: Readonly<Record<string, number>>;
}

/** Runs the tutorial against a running server; returns undefined (after saying why) when a service is missing or a step fails. */
export async function runScenario(
  baseUrl: string,
  options: ScenarioOptions = {},
): Promise<ScenarioOutcome | undefined> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ready = (await (await serverFetch(baseUrl)(`${baseUrl}/readyz`)).json()) as { services?: string[] };
  const missing = REQUIRED_SERVICES.filter((s) => !(ready.services ?? []).includes(s));
  const grpc = options.grpc ?? readGrpcEndpoint(baseUrl, options.stateDir);
  if (missing.length > 0 || !grpc) {
    print(
      `\nThe word-count scenario needs the ${REQUIRED_SERVICES.join(', ')} services and the gRPC listener; ` +
        `missing here: ${[...missing, ...(grpc ? [] : ['gRPC endpoint'])].join(', ')}. Skipping it.`,
    );
    return undefined;
  }
  print('\n# The seed tutorial: two collaborators count words in an attested workload neither can read');
  const instances = (ready.services ?? []).includes('compute') ? 'compute' : 'dev';
  const tutorial = await setUpTutorial({
    baseUrl,
    grpc,
    print,
    instances,
    // The seed's HTTP path needs the teeserver for /connect, so only on a real instance.
    ...(instances === 'compute' ? { ingressPort: INGRESS_PORT } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    return await playTutorial(tutorial, print);
  } catch (error) {
    // `npm start` keeps serving after a failed scenario; the reason is the last thing printed.
    print(`\nThe scenario failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    await tutorial.close();
  }
}

async function playTutorial(tutorial: Tutorial, print: (line: string) => void): Promise<ScenarioOutcome> {
  const [c1, c2] = tutorial.collaborators;
  print('\n## Operator: start the instance running the authorised image');
  if (tutorial.instances === 'dev') {
    print(
      '  (development stand-in: this server has no compute service, so the workload runs in-process with a\n' +
        '   local token issuer in place of launcher and verifier; every other call below is the real service)',
    );
  }
  const workload = await tutorial.startInstance();
  try {
    print('\n## Collaborators publish their encrypted words');
    const publish = async (c: Party, words: string) => {
      await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
      const out = await c.cli.wordcount([
        'publish',
        `--topicProject=${tutorial.operator.project}`,
        `--user=${words}`,
        `--kmsKey=${tutorial.kmsKeyOf(c)}`,
        `--audience=${tutorial.audienceOf(c)}`,
      ]);
      print(out);
    };
    await publish(c1, 'alice,carol');
    await publish(c2, 'alice,dave');
    let expected = 4;
    const ingressPort = tutorial.config.ingressPort;
    if (ingressPort !== undefined && tutorial.tls) {
      print('\n## Collaborators send over mTLS after checking the attested workload holds the TLS session');
      const hostPort = await publishedPort(tutorial, ingressPort);
      for (const [index, c] of [c1, c2].entries()) {
        const tls = tutorial.tls[index];
        if (!tls) continue;
        await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
        const send = [
          'send',
          `--host=127.0.0.1:${hostPort}`,
          `--server_name=tee.collaborator${index + 1}.com`,
          `--audience=${tutorial.audienceOf(c)}`,
          `--kmsKey=${tutorial.kmsKeyOf(c)}`,
          '--user=bob',
          `--ca_files=${tls.caFile}`,
          `--tls_crt=${tls.clientCertFile}`,
          `--tls_key=${tls.clientKeyFile}`,
          `--image_digest=${tutorial.imageDigest}`,
        ];
        if (index === 0) await waitForIngress(hostPort, print);
        print(await sendUntilServed((attempt) => c.cli.wordcount(send, { quiet: attempt > 0 })));
        expected += 1;
      }
    }
    await workload.waitForContributions(expected, 180_000);
    print(`the workload counted ${expected} contributions and published a sealed result to each collaborator`);

    print("\n## Each collaborator's audit log: the federated identity that used its key");
    const federatedCalls: Record<string, number> = {};
    for (const c of [c1, c2]) {
      await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
      const entries = JSON.parse(
        await c.cli.sealroom(['logging', 'read', '--format=json'], { result: false }),
      ) as AuditEntry[];
      const federated = entries.filter((e) =>
        e.protoPayload?.authenticationInfo?.principalSubject?.startsWith('principal://'),
      );
      federatedCalls[c.project] = federated.length;
      const seen = new Set<string>();
      for (const e of federated) {
        const line = `${e.protoPayload?.methodName} by ${e.protoPayload?.authenticationInfo?.principalSubject}`;
        if (!seen.has(line)) print(`  ${line}`);
        seen.add(line);
      }
    }

    print('\n## Each collaborator reads and decrypts its own result');
    const results: Record<string, WordcountResult> = {};
    for (const c of [c1, c2]) {
      await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
      // The second asks for a fresh result on demand; the first reads the latest one.
      const refresh = c === c2 ? ['--refresh', `--topicProject=${tutorial.operator.project}`] : [];
      const out = await c.cli.wordcount(['results', `--project=${c.project}`, ...refresh]);
      results[c.project] = JSON.parse(out) as WordcountResult;
      print(out);
    }
    print(
      `\nalice = ${results[c1.project]?.counts.alice} (one from each collaborator)` +
        (expected > 4 ? `, bob = ${results[c1.project]?.counts.bob} (over mTLS)` : ''),
    );
    return { results, federatedCalls };
  } finally {
    await workload.stop();
  }
}

interface AuditEntry {
  protoPayload?: { methodName?: string; authenticationInfo?: { principalSubject?: string } };
}

function roleOf(tutorial: Tutorial, p: Party): string {
  return p === tutorial.collaborators[0]
    ? 'collaborator-1'
    : p === tutorial.collaborators[1]
      ? 'collaborator-2'
      : 'operator';
}

/** The ingress opens once the workload has fetched its TLS secrets; retry the first connection briefly. */
/** Polls the workload's mTLS port until it accepts a connection (it listens once it has its keys), then says so. */
async function waitForIngress(port: number, print: (line: string) => void): Promise<void> {
  const started = Date.now();
  const deadline = started + INGRESS_TIMEOUT_MS;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline)
      throw new WordcountError('ERR_WORDCOUNT_SCENARIO', `the workload's mTLS ingress never listened on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  print(`✓ the workload's mTLS ingress listens on 127.0.0.1:${port} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const INGRESS_TIMEOUT_MS = 120_000;

/**
 * The ingress accepts connections as soon as it listens, but presents a collaborator's certificate only
 * once the workload has fetched that collaborator's TLS secrets: a send refused for the connection or the
 * certificate is tried again for a bounded time (the command is printed once); anything else fails at once.
 */
async function sendUntilServed(send: (attempt: number) => Promise<string>): Promise<string> {
  const deadline = Date.now() + INGRESS_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(attempt);
    } catch (error) {
      const message = String((error as Error).message);
      const early = /ECONNREFUSED|ECONNRESET|unable to verify the first certificate|certificate/.test(message);
      if (!early || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The mTLS ingress port the image EXPOSEs (Dockerfile and sealroom.build.json). */
export const INGRESS_PORT = 9443;

/** How long the host may take to report where it published the ingress port (it does so before the workload starts). */
const PUBLISH_TIMEOUT_MS = 180_000;

/**
 * Where the host published the instance's EXPOSEd port (`compute instances describe`), polled until the host has
 * reported it: guessing the EXPOSEd number could reach another instance's workload on a busy host.
 */
async function publishedPort(tutorial: Tutorial, port: number): Promise<number> {
  await tutorial.operator.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, tutorial.operator)], {
    quiet: true,
  });
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    const vm = JSON.parse(
      await tutorial.operator.cli.sealroom(
        ['compute', 'instances', 'describe', 'vm1', '--zone=us-central1-a', '--format=json'],
        attempt === 0 ? { result: false } : { quiet: true },
      ),
    ) as {
      status?: string;
      confidentialSpace?: { network?: { publishedPorts?: { protocol: string; port: number; hostPort: number }[] } };
    };
    const published = vm.confidentialSpace?.network?.publishedPorts?.find(
      (p) => p.protocol === 'tcp' && p.port === port,
    );
    if (published) return published.hostPort;
    if (vm.status === 'TERMINATED' || vm.status === 'STOPPED')
      throw new WordcountError('ERR_WORDCOUNT_SCENARIO', `the instance stopped before publishing its port ${port}/tcp`);
    if (Date.now() > deadline)
      throw new WordcountError('ERR_WORDCOUNT_SCENARIO', `the instance never published its port ${port}/tcp`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new WordcountError('ERR_WORDCOUNT_SCENARIO', `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `sealroom serve` writes endpoints.json (rest, grpc host:port, CA path) into its state directory. */
function readGrpcEndpoint(baseUrl: string, stateDir?: string): TutorialOptions['grpc'] | undefined {
  const dir = stateDir ?? process.env.SEALROOM_STATE_DIR ?? join(resolveRepoRoot(), '.sealroom');
  const file = join(dir, 'endpoints.json');
  if (!existsSync(file)) return undefined;
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as { rest?: string; grpc?: string | null; ca?: string };
  if (endpoints.rest?.replace(/\/+$/, '') !== baseUrl.replace(/\/+$/, '') || !endpoints.grpc || !endpoints.ca) {
    return undefined;
  }
  const [host = '127.0.0.1', port = '0'] = endpoints.grpc.split(':');
  return { host, port: Number(port), caPem: readFileSync(endpoints.ca, 'utf8') };
}
