// Two `sealroom serve` replicas on one PostgreSQL database and one remote host: the replica holding the host's
// channel is killed with SIGKILL, the host reconnects to the other, the instance keeps running (booted once),
// its serial lines of the outage arrive once each, and stop and start made on the surviving replica reach it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '@sealroom/cli';
import type { CliTestBed } from '@sealroom/cli/testing';
import { createTestPostgres, type TestPostgres } from '@sealroom/postgres/testing';
import type { RunningServer } from '@sealroom/server';
import { type HostAgentProcess, runcContainers, startHostAgent } from '../support/hosts.ts';
import {
  buildSignedClaimsImage,
  grantOperatorServiceAccount,
  instancesCreateLine,
  isolationMissing,
  type Json,
  ZONE,
  waitFor,
} from '../support/launch.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const skip =
  process.env.SEALROOM_TEST_POSTGRES === '0'
    ? 'SEALROOM_TEST_POSTGRES=0: no PostgreSQL'
    : isolationMissing() || (process.getuid?.() !== 0 ? 'needs runc as root' : false);

const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-hosts-replicas-'));
const stateDir = join(dir, 'state');
const hostDir = join(dir, 'host');
let database: TestPostgres | undefined;
const replicas: ServerProcess[] = [];
const killed = new Set<ServerProcess>();
let agent: HostAgentProcess | undefined;
/** The deployment's front door, as a reverse proxy is: each connection goes to the first replica alive. */
let front: Server | undefined;
let frontUrl = '';
const sockets = new Set<Socket>();

/** The CLI in-process against the first replica still alive, with one config (its login) throughout. */
const live = () => replicas.find((r) => !killed.has(r)) as ServerProcess;
const cli = async (...argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), SEALROOM_API: frontUrl },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
};
const ok = async (...argv: string[]) => {
  const result = await cli(...argv);
  assert.equal(result.code, 0, `sealroom ${argv.join(' ')}\n${result.stderr}`);
  return result.stdout;
};
const describeVm = async (): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', 'vm-r', `--zone=${ZONE}`, '--format=json'));
const serial = () => ok('compute', 'instances', 'get-serial-port-output', 'vm-r', `--zone=${ZONE}`);
const diagnostics = () =>
  `--- host agent:\n${agent?.logs().slice(-6000)}\n${replicas.map((r) => `--- ${r.url}:\n${r.logs().slice(-4000)}`).join('\n')}`;

before(async () => {
  if (skip) return;
  database = await createTestPostgres();
  mkdirSync(stateDir, { recursive: true });
  front = createServer((client) => {
    const upstream = connect(Number(new URL(live().url).port), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => front?.listen(0, '127.0.0.1', resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const start = () =>
    startServerProcess({
      stateDir,
      // Both replicas answer under the front door's URL (issuer, image references), as behind a proxy.
      extraArgs: ['--database-url', database?.url ?? '', '--grpc-port', '-1', '--base-url', frontUrl],
      env: { SEALROOM_COMPUTE_HOST_LOST_SECONDS: '30' },
      readyTimeoutMs: 120_000,
    });
  // The first replica initialises the shared state (root key, CA); the second joins it.
  replicas.push(await start());
  replicas.push(await start());
  const bed = { server: { url: frontUrl } as RunningServer, dir, env: {}, cli, ok, close: async () => {} };
  await ok('auth', 'login', 'alice@example.com');
  await ok('projects', 'create', 'builder-project');
  await ok('projects', 'create', 'operator-project');
  await ok('config', 'set', 'project', 'builder-project');
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
  const { imageRef } = await buildSignedClaimsImage(bed satisfies CliTestBed);
  await grantOperatorServiceAccount(bed);
  // The host joins through the first replica, whose channel it then holds.
  await ok('auth', 'login', `--cred-file=${join(stateDir, 'admin-credential.json')}`);
  const tokenFile = join(dir, 'host.token');
  await ok('host', 'tokens', 'create', `--pool=${ZONE}`, `--output-file=${tokenFile}`);
  await ok('host', 'join', `--token-file=${tokenFile}`, '--name=rh1', `--state-dir=${hostDir}`, '--insecure-enrolment');
  await ok('auth', 'login', 'alice@example.com');
  agent = startHostAgent(undefined, hostDir);
  await waitFor('the host connected', async () => {
    const hosts = JSON.parse(
      (await cli('host', 'list', '--format=json', '--account=admin@sealroom.internal')).stdout || '[]',
    );
    return (hosts as Json[]).some((h) => h.name === 'rh1' && h.connected) ? true : undefined;
  });
  // A workload that prints a numbered line every 200 ms until it is stopped.
  const ticker = 'tee-restart-policy=Never~tee-cmd=["tick"]';
  await ok(...instancesCreateLine('vm-r', imageRef, ticker));
});

after(async () => {
  await agent?.stop('SIGTERM');
  for (const r of replicas) {
    await r.stop('SIGKILL');
    r.cleanup();
  }
  for (const socket of sockets) socket.destroy();
  front?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const TICK = /workload stdout: tick (\d+)$/;
const ticks = (text: string) =>
  text
    .split('\n')
    .map((l) => TICK.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);

test('killing the replica that holds a host: the host moves, the instance runs on, stop/start work', {
  skip,
}, async () => {
  try {
    const running = await waitFor('the instance ticks', async () => {
      const vm = await describeVm();
      const seen = ticks(await serial());
      // Killed between two bursts of lines: none is in flight between its write and its acknowledgement.
      return vm.status === 'RUNNING' && seen.length >= 10 && seen.length % 5 === 0 ? vm : undefined;
    });
    assert.equal(running.confidentialSpace.bootCount, 1);
    await new Promise((r) => setTimeout(r, 300));
    const [holder, survivor] = replicas as [ServerProcess, ServerProcess];
    await holder.stop('SIGKILL');
    killed.add(holder);

    await waitFor('the host on the surviving replica', async () =>
      (agent?.logs().match(/host channel up/g) ?? []).length >= 2 ? true : undefined,
    );
    // Lines keep coming through the survivor; the ones of the outage were replayed, none twice, none missing.
    const before = ticks(await serial()).at(-1) ?? 0;
    const text = await waitFor('more lines after the move', async () => {
      const t = await serial();
      return (ticks(t).at(-1) ?? 0) >= before + 10 ? t : undefined;
    });
    const seen = ticks(text);
    assert.deepEqual(
      seen,
      seen.map((_, i) => (seen[0] ?? 0) + i),
      'every tick once and in order',
    );
    const vm = await describeVm();
    assert.equal(vm.status, 'RUNNING', `the instance ran on: ${vm.statusMessage}`);
    assert.equal(vm.confidentialSpace.bootCount, 1, 'not booted again');
    assert.doesNotMatch(text, /host rh1 lost/);
    assert.equal(runcContainers(hostDir).length, 1, 'one container on the host');

    // Lifecycle calls on the survivor reach the host.
    await ok('compute', 'instances', 'stop', 'vm-r', `--zone=${ZONE}`);
    assert.equal((await describeVm()).status, 'TERMINATED', 'stopped through the survivor');
    assert.deepEqual(runcContainers(hostDir), [], 'the container is gone');
    await ok('compute', 'instances', 'start', 'vm-r', `--zone=${ZONE}`);
    const again = await waitFor('the second boot', async () => {
      const v = await describeVm();
      return v.status === 'RUNNING' && v.confidentialSpace.bootCount === 2 ? v : undefined;
    });
    assert.equal(again.confidentialSpace.bootCount, 2);
    // The second boot prints its own first lines (its count starts again), through the survivor.
    await waitFor('the second boot ticks', async () => {
      const seen = ticks(await serial());
      return seen.lastIndexOf(1) > 0 ? true : undefined;
    });
    assert.equal(runcContainers(hostDir).length, 1, 'one container again');
    assert.match(survivor.logs(), /"msg":"host connected"/);
  } catch (error) {
    const text = await serial().catch(() => '');
    throw new Error(`${(error as Error).message}\n--- serial:\n${text.slice(-3000)}\n${diagnostics()}`);
  }
});
