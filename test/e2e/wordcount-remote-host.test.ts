// The seed's word-count scenario with its instance on a joined host: the host agent is its own process, joined
// with an enrolment token, and the scenario's zone is its pool; the counts and key releases are the tutorial's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '@sealroom/core';
import { runScenario } from '@sealroom/example-wordcount';
import { createPubsubService } from '@sealroom/pubsub';
import { type RunningServer, SERVICES, resolveServerConfig, startServer } from '@sealroom/server';
import { type HostAgentProcess, sealroomIn, startHostAgent } from '../support/hosts.ts';
import { isolationMissing, waitFor } from '../support/launch.ts';

const POOL = 'us-central1-a';
const skip = isolationMissing() || (process.getuid?.() !== 0 ? 'needs root for runc' : false);

let server: RunningServer | undefined;
let dir: string;
let agent: HostAgentProcess | undefined;

const cli = (args: string[]) =>
  sealroomIn(undefined, args, { env: { XDG_CONFIG_HOME: join(dir, 'config'), SEALROOM_API: server?.url ?? '' } });
const ok = async (args: string[]) => {
  const result = await cli(args);
  assert.equal(result.code, 0, `sealroom ${args.join(' ')}\n${result.stderr}`);
  return result.stdout;
};

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-wordcount-host-'));
  const services = SERVICES.some((s) => s.name === 'pubsub')
    ? SERVICES
    : [...SERVICES, { name: 'pubsub', factory: createPubsubService }];
  server = await startServer(
    resolveServerConfig({ dev: true, port: 0, grpcPort: 0, stateDir: join(dir, 'state'), logLevel: 'warn' }),
    { logger: silentLogger, services },
  );
  await ok(['auth', 'login', `--cred-file=${join(dir, 'state', 'admin-credential.json')}`]);
  const tokenFile = join(dir, 'host.token');
  await ok(['host', 'tokens', 'create', `--pool=${POOL}`, `--output-file=${tokenFile}`]);
  const hostDir = join(dir, 'host');
  await ok([
    'host',
    'join',
    `--token-file=${tokenFile}`,
    '--name=wc-host',
    `--state-dir=${hostDir}`,
    '--insecure-enrolment',
  ]);
  agent = startHostAgent(undefined, hostDir);
  await waitFor('the host connected', async () => {
    const hosts = JSON.parse(await ok(['host', 'list', '--format=json'])) as { name: string; connected: boolean }[];
    return hosts.some((h) => h.name === 'wc-host' && h.connected) ? true : undefined;
  });
});

after(async () => {
  await agent?.stop('SIGTERM');
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the word-count scenario runs with its instance on a joined host', { skip }, async () => {
  const running = server as RunningServer;
  const lines: string[] = [];
  const grpc = { host: '127.0.0.1', port: running.grpcPort ?? 0, caPem: running.tls.caPem };
  const outcome = await runScenario(running.url, { grpc, print: (line) => lines.push(line) });
  assert.ok(outcome, `${lines.join('\n')}\n--- host agent:\n${agent?.logs()}`);
  const results = Object.values(outcome.results);
  assert.equal(results.length, 2);
  for (const result of results) {
    assert.equal(result.counts.alice, 2, 'over Pub/Sub, one from each collaborator');
    assert.equal(result.counts.bob, 2, 'over mTLS, one from each collaborator');
  }
  for (const calls of Object.values(outcome.federatedCalls)) assert.ok(calls > 0, 'federated calls in audit log');
  // The instance booted on the joined host, not on the server's embedded one.
  assert.match(agent?.logs() ?? '', /"zone":"us-central1-a".*"msg":"booting an instance"/);
});
