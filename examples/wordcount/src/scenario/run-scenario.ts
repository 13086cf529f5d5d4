// `npm start`'s scenario: the seed tutorial end to end, printing each step, the audit trail and both results.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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
    ...(instances === 'compute' ? { ingressPort: await freePort() } : {}),
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
      for (const [index, c] of [c1, c2].entries()) {
        const tls = tutorial.tls[index];
        if (!tls) continue;
        await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
        const send = [
          'send',
          `--host=127.0.0.1:${ingressPort}`,
          `--server_name=tee.collaborator${index + 1}.com`,
          `--audience=${tutorial.audienceOf(c)}`,
          `--kmsKey=${tutorial.kmsKeyOf(c)}`,
          '--user=bob',
          `--ca_files=${tls.caFile}`,
          `--tls_crt=${tls.clientCertFile}`,
          `--tls_key=${tls.clientKeyFile}`,
          `--image_digest=${tutorial.imageDigest}`,
        ];
        print(await sendWhenListening(() => c.cli.wordcount(send)));
        expected += 1;
      }
    }
    await workload.waitForContributions(expected, 180_000);
    print(`the workload counted ${expected} contributions and published a sealed result to each collaborator`);

    print("\n## Each collaborator's audit log: the federated identity that used its key");
    const federatedCalls: Record<string, number> = {};
    for (const c of [c1, c2]) {
      await c.cli.sealroom(['config', 'configurations', 'activate', roleOf(tutorial, c)], { quiet: true });
      const entries = JSON.parse(await c.cli.sealroom(['logging', 'read', '--format=json'])) as AuditEntry[];
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
async function sendWhenListening(send: () => Promise<string>): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= 60 || !/ECONNREFUSED/.test(String((error as Error).message))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
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
