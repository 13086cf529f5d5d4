// runc, bwrap and the plain process run a tiny rootfs built here: isolation, mounts, env, signals, exit codes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LauncherError } from '../errors.ts';
import { createBwrapRuntime } from './bwrap.ts';
import { detectContainerRuntime } from './detect.ts';
import { createProcessRuntime } from './process.ts';
import { createRuncRuntime } from './runc.ts';
import { stopContainer } from './stop.ts';
import { buildTestRootfs, testRootfsProblem } from './test-rootfs.test-util.ts';
import type { ContainerConfig, ContainerRuntime } from './types.ts';

const base = mkdtempSync(join(tmpdir(), 'sr-rt-'));
after(() => rmSync(base, { recursive: true, force: true }));
// SEALROOM_TEST_HOST_ROOTFS=1 builds the rootfs from host binaries even where busybox exists.
const preferHost = process.env.SEALROOM_TEST_HOST_ROOTFS === '1';

function makeRootfs(name: string): string {
  const rootfs = join(base, name, 'rootfs');
  buildTestRootfs(rootfs, { preferHost });
  return rootfs;
}

function makeConfig(name: string, script: string, overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  const launcherDir = join(base, name, 'launcher');
  mkdirSync(launcherDir, { recursive: true });
  writeFileSync(join(launcherDir, 'attestation_verifier_claims_token'), 'header.claims.sig');
  return {
    id: `sr-test-${name}-${process.pid}`,
    rootfs: makeRootfs(name),
    args: ['/bin/sh', '-c', script],
    env: ['PATH=/bin', 'GREETING=hello world', 'HOSTNAME=vm-test', 'LC_ALL=C'],
    cwd: '/',
    hostname: 'vm-test',
    launcherDir,
    tmpfsMounts: [{ destination: '/scratch', sizeBytes: 1024 * 1024 }],
    devShmSizeKb: 2048,
    workDir: join(base, name, 'work'),
    ...overrides,
  };
}

async function run(runtime: ContainerRuntime, config: ContainerConfig) {
  let stdout = '';
  let stderr = '';
  const container = await runtime.start(config, {
    stdout: (c) => (stdout += c.toString()),
    stderr: (c) => (stderr += c.toString()),
  });
  const exit = await container.exited;
  return { exit, stdout, stderr };
}

const ISOLATION_SCRIPT = [
  'echo "token=$(cat /run/container_launcher/attestation_verifier_claims_token)"',
  'echo "greeting=$GREETING"',
  'echo "host=$(hostname)"',
  'touch /rootfs-write 2>/dev/null && echo rootfs=rw || echo rootfs=ro',
  'touch /run/container_launcher/x 2>/dev/null && echo launcher=rw || echo launcher=ro',
  'echo data > /scratch/f && echo scratch=$(cat /scratch/f)',
  'echo "shm=$(df -k /dev/shm | tail -1)"',
  'exit 3',
].join('; ');

const problem = testRootfsProblem();
const isolated: [string, () => ContainerRuntime, string][] = [
  ['runc', () => createRuncRuntime(), 'runc'],
  ['bwrap', () => createBwrapRuntime(), 'bwrap'],
];

for (const [name, create, kind] of isolated) {
  describe(`the ${name} runtime`, async () => {
    const detection = await detectContainerRuntime({ candidates: [kind as 'runc' | 'bwrap'] });
    const skip = problem ?? (detection.runtime ? undefined : `${name} cannot run here: ${detection.report.join('; ')}`);
    if (skip) {
      test(`skipped: ${skip}`, { skip });
      return;
    }

    test('the workload sees a read-only rootfs, the read-only launcher dir, env, hostname, tmpfs and /dev/shm size', async () => {
      const { exit, stdout, stderr } = await run(create(), makeConfig(`${name}-iso`, ISOLATION_SCRIPT));
      assert.equal(exit.exitCode, 3, stderr);
      assert.match(stdout, /token=header\.claims\.sig/);
      assert.match(stdout, /greeting=hello world/);
      assert.match(stdout, /host=vm-test/);
      assert.match(stdout, /rootfs=ro/);
      assert.match(stdout, /launcher=ro/);
      assert.match(stdout, /scratch=data/);
      assert.match(stdout, /shm=\S+\s+2048\s/);
    });

    test('stop sends SIGTERM the workload can handle', async () => {
      const runtime = create();
      let out = '';
      const script = 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.05; done';
      const container = await runtime.start(makeConfig(`${name}-term`, script), {
        stdout: (c) => (out += c.toString()),
        stderr: () => {},
      });
      while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      const exit = await stopContainer(container, { graceMs: 5000 });
      assert.equal(exit.exitCode, 7);
      assert.match(out, /got-term/);
    });

    test('a workload that ignores SIGTERM is killed after the grace period', async () => {
      const runtime = create();
      let out = '';
      const script = 'trap "" TERM; echo ready; while true; do sleep 0.05; done';
      const container = await runtime.start(makeConfig(`${name}-kill`, script), {
        stdout: (c) => (out += c.toString()),
        stderr: () => {},
      });
      while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      const exit = await stopContainer(container, { graceMs: 300 });
      assert.equal(exit.exitCode, 137);
    });

    test('a workload that ends at once is an exit, not a start failure', async () => {
      for (let i = 0; i < 3; i += 1) {
        const { exit } = await run(create(), makeConfig(`${name}-quick-${i}`, 'exit 0'));
        assert.equal(exit.exitCode, 0);
      }
    });

    test('a program missing from the image is a start failure, not a workload exit', async () => {
      const config = makeConfig(`${name}-missing`, '', { args: ['/bin/does-not-exist'] });
      await assert.rejects(
        run(create(), config),
        (e: unknown) => e instanceof LauncherError && e.code === 'ERR_LAUNCHER_RUNTIME_START',
      );
    });
  });
}

describe('the plain process runtime', () => {
  test('runs the program from the image with the env and tells it where the launcher dir is', {
    skip: problem,
  }, async () => {
    const config = makeConfig('process', 'echo "greeting=$GREETING dir=$SEALROOM_CONTAINER_LAUNCHER_DIR"; exit 5');
    const { exit, stdout } = await run(createProcessRuntime(), config);
    assert.equal(exit.exitCode, 5);
    assert.match(stdout, /greeting=hello world/);
    assert.ok(stdout.includes(`dir=${config.launcherDir}`));
  });

  test('detection reports each runtime it tried and ends at the plain process', async () => {
    const detection = await detectContainerRuntime({
      runcBinary: '/nonexistent/runc',
      bwrapBinary: '/nonexistent/bwrap',
    });
    assert.equal(detection.runtime?.kind, 'process');
    assert.deepEqual(
      detection.report.map((line) => line.split(':')[0]),
      ['runc', 'bwrap', 'process'],
    );
    assert.match(detection.report[0] ?? '', /not installed/);
  });
});
