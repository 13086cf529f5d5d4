// runc isolating an instance for real: memory limit and OOM report, capabilities, cgroup namespace, /dev/shm,
// the ephemeral disk with its size limit, and the watchdog that kills a container its launcher left behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { detectContainerRuntime } from './detect.ts';
import { mountEphemeralDisk } from './ephemeral-disk.ts';
import { createRuncRuntime } from './runc.ts';
import { buildTestRootfs, testRootfsProblem } from './test-rootfs.test-util.ts';
import type { ContainerConfig } from './types.ts';
import { processesWith } from '@sealroom/core/testing';

const base = mkdtempSync(join(tmpdir(), 'sr-iso-'));
after(() => rmSync(base, { recursive: true, force: true }));
const MIB = 1024 * 1024;

function makeConfig(name: string, script: string, overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  const launcherDir = join(base, name, 'launcher');
  mkdirSync(launcherDir, { recursive: true });
  const rootfs = join(base, name, 'rootfs');
  if (!existsSync(rootfs)) buildTestRootfs(rootfs);
  return {
    id: `sr-iso-${name}-${process.pid}`,
    rootfs,
    args: ['/bin/sh', '-c', script],
    env: ['PATH=/bin', 'LC_ALL=C'],
    cwd: '/',
    hostname: 'vm-iso',
    launcherDir,
    tmpfsMounts: [],
    devShmSizeKb: 0,
    workDir: join(base, name, 'work'),
    ...overrides,
  };
}

async function run(config: ContainerConfig) {
  let stdout = '';
  let stderr = '';
  const container = await createRuncRuntime().start(config, {
    stdout: (c) => (stdout += c.toString()),
    stderr: (c) => (stderr += c.toString()),
  });
  const exit = await container.exited;
  return { exit, stdout, stderr };
}

/** Effective capabilities (a hex mask) from /proc/self/status as the container printed it. */
function capEff(status: string): bigint {
  const hex = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
  assert.ok(hex, status);
  return BigInt(`0x${hex}`);
}
const CAP_SYS_ADMIN = 21n;
const CAP_NET_RAW = 13n;

const problem = testRootfsProblem();
describe('runc isolation of an instance', async () => {
  const detection = await detectContainerRuntime({ candidates: ['runc'] });
  const skip = problem ?? (detection.runtime ? undefined : `runc cannot run here: ${detection.report.join('; ')}`);
  if (skip) {
    test(`skipped: ${skip}`, { skip });
    return;
  }

  test('a workload above its memory limit is killed and the exit says out of memory', async () => {
    // tail keeps the whole "line" of /dev/zero in memory: it grows until the limit stops it.
    const { exit } = await run(makeConfig('oom', 'exec tail /dev/zero', { memoryLimitBytes: 32 * MIB }));
    assert.equal(exit.outOfMemory, true);
    assert.equal(exit.exitCode, 137);
  });

  test('a workload under its memory limit ends normally, not out of memory', async () => {
    const { exit, stdout } = await run(makeConfig('fits', 'echo fine', { memoryLimitBytes: 64 * MIB }));
    assert.equal(stdout.trim(), 'fine');
    assert.equal(exit.exitCode, 0);
    assert.equal(exit.outOfMemory, undefined);
  });

  test('added capabilities, the cgroup namespace and the /dev/shm size are what the container sees', async () => {
    const script = 'cat /proc/self/status; echo ---; cat /proc/self/cgroup; echo ---; df -k /dev/shm | tail -1';
    const plain = await run(makeConfig('caps0', script, { devShmSizeKb: 2048 }));
    const added = await run(
      makeConfig('caps1', script, { addedCapabilities: ['CAP_SYS_ADMIN'], cgroupNamespace: true, devShmSizeKb: 4096 }),
    );
    const [plainStatus = '', plainCgroup = '', plainShm = ''] = plain.stdout.split('---\n');
    const [addedStatus = '', addedCgroup = '', addedShm = ''] = added.stdout.split('---\n');
    assert.equal((capEff(plainStatus) >> CAP_SYS_ADMIN) & 1n, 0n);
    assert.equal((capEff(addedStatus) >> CAP_SYS_ADMIN) & 1n, 1n);
    assert.equal((capEff(addedStatus) >> CAP_NET_RAW) & 1n, 0n, 'only the named capability is added');
    // Without a cgroup namespace the container sees where it sits on the host; with one, its own root.
    assert.match(plainCgroup, /\/sealroom\/sr-iso-caps0-/);
    assert.doesNotMatch(addedCgroup, /sealroom/);
    assert.match(plainShm, /\s2048\s/);
    assert.match(addedShm, /\s4096\s/);
  });

  test('the ephemeral disk: the workload writes over the image, a write past the limit fails, close destroys it', async () => {
    await assert.rejects(
      (await mountEphemeralDisk({ dir: join(base, 'too-small'), sizeBytes: 24 * MIB, candidates: ['tmpfs'] })).overlay(
        join(base, 'nowhere'),
        20 * MIB,
      ),
      /does not fit in the instance's disk/,
    );
    const dir = join(base, 'disk-instance');
    const disk = await mountEphemeralDisk({ dir, sizeBytes: 24 * MIB, candidates: ['tmpfs'] });
    try {
      assert.equal(disk.kind, 'tmpfs');
      assert.match(disk.description, /tmpfs/);
      const image = join(base, 'disk-image', 'rootfs');
      buildTestRootfs(image);
      // The image counts against the disk: 24 MiB less an 8 MiB image leaves 16 MiB to write.
      const rootfs = await disk.overlay(image, 8 * MIB);
      const script = [
        'df -k / | tail -1',
        'echo kept > /data && cat /data',
        'cat /dev/zero > /fill; echo "fill=$?"',
      ].join('; ');
      const config = makeConfig('disk', script, { rootfs, writableRootfs: true });
      const { stdout, stderr } = await run(config);
      assert.match(stdout, /^\S+\s+16384\s/m);
      assert.match(stdout, /^kept$/m);
      assert.match(stdout + stderr, /fill=1/);
      assert.match(stdout + stderr, /No space left on device/);
      assert.equal(existsSync(join(image, 'data')), false, 'the image under the writable layer is untouched');
      assert.equal(existsSync(join(rootfs, 'data')), true);
    } finally {
      await disk.close();
    }
    assert.equal(existsSync(join(dir, 'disk')), false, 'closing the disk destroys what was written');
    await disk.close();
  });

  test('a container whose launcher dies without stopping it is killed by its watchdog', async () => {
    const marker = `sr-orphan-${process.pid}-${Date.now()}`;
    const config = makeConfig('orphan', `echo started; sleep 1000; echo ${marker}`);
    writeFileSync(join(base, 'orphan-config.json'), JSON.stringify(config));
    // A separate launcher process starts the container, then is killed with SIGKILL (it cannot clean up).
    const program = `import { createRuncRuntime } from ${JSON.stringify(join(import.meta.dirname, 'runc.ts'))};
      import { readFileSync } from 'node:fs';
      const config = JSON.parse(readFileSync(process.argv[1], 'utf8'));
      await createRuncRuntime().start(config, { stdout: (c) => process.stdout.write(c), stderr: () => {} });`;
    const launcher = spawn(process.execPath, ['--input-type=module', '-e', program, join(base, 'orphan-config.json')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      launcher.stdout.on('data', (c: Buffer) => c.toString().includes('started') && resolve());
      launcher.once('exit', () => reject(new Error('the launcher ended before the container started')));
    });
    assert.notDeepEqual(processesWith(marker), [], 'the workload runs');
    launcher.kill('SIGKILL');
    // The watchdog deletes the container: its processes die first, then runc forgets its state.
    const known = () =>
      spawnSync('runc', ['--root', join(config.workDir, 'runc'), 'list', '-q'], { encoding: 'utf8' }).stdout.trim();
    const deadline = Date.now() + 30_000;
    while (processesWith(marker).length > 0 || known() !== '') {
      assert.ok(Date.now() < deadline, `the workload outlived its launcher (runc knows: ${known() || 'nothing'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
