// Each instance isolated under runc, through `sealroom serve`: a disk of its own that a reset wipes, a memory limit
// that kills and reports, added capabilities, a cgroup namespace and /dev/shm as the metadata asks, unknown keys
// warned about, memory monitoring in the log, and a SIGTERM to the server that stops every workload and says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildWorkloadImage } from '../support/launch.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { processesWith } from '@sealroom/core/testing';

const ZONE = 'us-central1-a';
const PROJECT = 'iso-project';
const SA = `operator-svc-account@${PROJECT}.iam.gserviceaccount.com`;
const MARKER = `isolation-${process.pid}-${Date.now()}`;
// biome-ignore lint/suspicious/noExplicitAny: instance and log-entry JSON, checked field by field.
type Json = Record<string, any>;

/** The workload: `disk` reports what it finds and sees, then waits for SIGTERM; `oom` allocates until killed. */
const WORKLOAD = `import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
const [mode] = process.argv.slice(2);
if (mode === 'oom') {
  const held = [];
  console.log('ALLOCATING');
  setInterval(() => held.push(Buffer.alloc(64 * 1024 * 1024, 1)), 5);
} else {
  console.log(existsSync('/data/marker') ? 'FOUND ' + readFileSync('/data/marker', 'utf8') : 'NOTFOUND');
  mkdirSync('/data', { recursive: true });
  writeFileSync('/data/marker', 'written by an earlier boot');
  const root = statfsSync('/');
  console.log('DISK ' + root.blocks * root.bsize);
  const shm = statfsSync('/dev/shm');
  console.log('SHM ' + shm.blocks * shm.bsize);
  console.log('CAPEFF ' + /CapEff:\\s*(\\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  console.log('CGROUP ' + readFileSync('/proc/self/cgroup', 'utf8').trim().split('\\n').join(' | '));
  console.log('READY');
  process.on('SIGTERM', () => { console.log('SIGTERM received'); process.exit(0); });
  setInterval(() => {}, 1000);
}
`;

function isolationMissing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (runc, mounts)';
  return spawnSync('runc', ['--version']).status === 0 ? false : 'needs runc';
}

let server: ServerProcess | undefined;
let imageRef = '';
const dir = mkdtempSync(join(tmpdir(), 'sealroom-isolation-'));

async function ok(...argv: string[]): Promise<string> {
  const result = await (server as ServerProcess).cli(argv);
  assert.equal(result.code, 0, `sealroom ${argv.join(' ')}\n${result.stderr}`);
  return result.stdout;
}
const serial = (name: string) => ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);
const describeVm = async (name: string): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));

/** Polls `check` until it returns something, for up to two minutes (a boot pulls and attests first). */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, vm?: string): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) assert.fail(`timed out waiting for ${what}:\n${vm ? await serial(vm) : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function create(name: string, account: string, metadata: string, extra: string[] = []): Promise<string> {
  return ok(
    'compute',
    'instances',
    'create',
    name,
    '--confidential-compute',
    `--zone=${ZONE}`,
    '--image-project=confidential-space-images',
    '--image-family=confidential-space',
    `--service-account=${account}`,
    ...extra,
    '--metadata',
    `^~^tee-image-reference=${imageRef}~${metadata}`,
  );
}

before(async () => {
  if (isolationMissing()) return;
  server = await startServerProcess({ readyTimeoutMs: 90_000 });
  await ok('auth', 'login', 'alice@example.com');
  await ok('projects', 'create', PROJECT);
  await ok('config', 'set', 'project', PROJECT);
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
  ({ imageRef } = await buildWorkloadImage(ok, {
    dir: join(dir, 'app'),
    registry: new URL(server.url).host,
    repository: `${PROJECT}/repo1`,
    name: 'iso',
    source: WORKLOAD,
    buildConfig: {
      cmd: ['disk'],
      launchPolicy: {
        allow_cmd_override: true,
        log_redirect: 'always',
        monitoring_memory_allow: 'always',
        allow_capabilities: true,
        allow_cgroups: true,
      },
    },
  }));
  await ok('iam', 'service-accounts', 'create', 'operator-svc-account');
  for (const role of ['roles/artifactregistry.reader', 'roles/confidentialcomputing.workloadUser'])
    await ok('projects', 'add-iam-policy-binding', PROJECT, `--member=serviceAccount:${SA}`, `--role=${role}`);
});

/** Servers started before the current one (same state directory), cleaned up last. */
const earlier: ServerProcess[] = [];

after(async () => {
  await server?.stop('SIGKILL');
  server?.cleanup();
  for (const old of earlier) old.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('instances isolated under runc', { skip: isolationMissing() }, () => {
  test('a workload above its memory limit is killed and reported', async () => {
    await create('vm-oom', SA, 'tee-cmd=["oom"]~tee-container-log-redirect=true', ['--machine-type=e2-micro']);
    const vm = await waitFor('vm-oom TERMINATED', async () => {
      const described = await describeVm('vm-oom');
      return described.status === 'TERMINATED' ? described : undefined;
    });
    const output = await serial('vm-oom');
    assert.match(output, /sealroom: memory: 1 GiB \(e2-micro\), no swap, enforced by runc/);
    assert.match(output, /workload stdout: ALLOCATING/);
    assert.match(output, /workload killed: out of memory/);
    assert.equal(vm.confidentialSpace.lastExitCode, 1, output);
  });

  test('disk, capabilities, cgroup namespace, /dev/shm, monitoring; a reset wipes the disk', async () => {
    await create(
      'vm-disk',
      SA,
      [
        `tee-cmd=["disk","${MARKER}"]`,
        'tee-container-log-redirect=true',
        'tee-added-capabilities=["CAP_SYS_ADMIN"]',
        'tee-cgroup-ns=true',
        'tee-dev-shm-size=4096',
        'tee-memory-monitoring-enable=true',
      ].join('~'),
      ['--machine-type=n2d-standard-2'],
    );
    const first = await waitFor(
      'the first boot READY',
      async () => {
        const output = await serial('vm-disk');
        return output.includes('workload stdout: READY') ? output : undefined;
      },
      'vm-disk',
    );
    assert.match(first, /sealroom: disk: (tmpfs|dm-crypt) .*7\.0 GiB/);
    assert.match(first, /sealroom: memory: 8 GiB \(n2d-standard-2\), no swap, enforced by runc/);
    assert.match(first, /workload stdout: NOTFOUND/);
    const disk = Number(/workload stdout: DISK (\d+)/.exec(first)?.[1]);
    assert.ok(disk > 6.5 * 1024 ** 3 && disk <= 7 * 1024 ** 3, `the root is the 7 GiB disk: ${disk}`);
    assert.match(first, /workload stdout: SHM 4194304\b/);
    const capEff = BigInt(`0x${/workload stdout: CAPEFF ([0-9a-f]+)/.exec(first)?.[1]}`);
    assert.equal((capEff >> 21n) & 1n, 1n, 'CAP_SYS_ADMIN is effective');
    assert.doesNotMatch(/workload stdout: CGROUP (.*)/.exec(first)?.[1] ?? '', /sealroom/, 'a cgroup namespace');
    const described = await describeVm('vm-disk');
    assert.match(String(described.statusMessage), /disk (tmpfs|dm-crypt) 7 GiB, memory 8 GiB/);
    const memory = await waitFor('a memory report in the log', async () => {
      const entries = JSON.parse(await ok('logging', 'read', '--format=json')) as Json[];
      return entries.find((e) => /^memory\/bytes_used=\d+ memory\/limit_bytes=8589934592$/.test(e.textPayload ?? ''));
    });
    assert.match(memory.logName, /confidential-space-launcher$/);

    await ok('compute', 'instances', 'reset', 'vm-disk', `--zone=${ZONE}`);
    const second = await waitFor(
      'the second boot READY',
      async () => {
        const output = await serial('vm-disk');
        return output.split('workload stdout: READY').length > 2 ? output : undefined;
      },
      'vm-disk',
    );
    assert.equal(second.match(/workload stdout: NOTFOUND/g)?.length, 2, 'the reset wiped what the first boot wrote');
    assert.doesNotMatch(second, /workload stdout: FOUND/);
  });

  test('SIGTERM to the server stops the running instance, says so, and leaves no workload process', async () => {
    const running = server as ServerProcess;
    assert.notDeepEqual(processesWith(MARKER), [], 'the workload of vm-disk runs');
    const code = await running.stop('SIGTERM');
    assert.equal(code, 0, running.logs().slice(-3000));
    assert.match(running.logs(), /stopping 1 instance… \(SIGTERM to each workload, SIGKILL after 10 s\)/);
    assert.match(running.logs(), /stopped 1 instance\b/);
    assert.deepEqual(processesWith(MARKER), [], 'no workload process outlives the server');
    const compute = join(running.stateDir, 'compute');
    for (const instance of readdirSync(compute)) {
      const root = join(compute, instance, 'work', 'runc');
      const left = spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' }).stdout.trim();
      assert.equal(left, '', `runc still knows containers of ${instance}`);
    }
  });

  test('SIGKILL to the server: the watchdog of each container kills its workload', async () => {
    const previous = server as ServerProcess;
    earlier.push(previous);
    // The same state directory (the image is still in its registry) on a new port.
    server = await startServerProcess({ stateDir: previous.stateDir, readyTimeoutMs: 90_000 });
    imageRef = imageRef.replace(new URL(previous.url).host, new URL(server.url).host);
    await ok('auth', 'login', 'alice@example.com');
    await ok('config', 'set', 'project', PROJECT);
    const marker = `${MARKER}-crash`;
    await create('vm-crash', SA, `tee-cmd=["disk","${marker}"]~tee-container-log-redirect=true`);
    await waitFor(
      'vm-crash READY',
      async () => ((await serial('vm-crash')).includes('workload stdout: READY') ? true : undefined),
      'vm-crash',
    );
    assert.notDeepEqual(processesWith(marker), [], 'the workload of vm-crash runs');
    await server.stop('SIGKILL');
    await waitFor('no workload process left', async () => (processesWith(marker).length === 0 ? true : undefined));
    // The disk's own watchdog unmounts and destroys it: nothing of the instance stays mounted.
    const stateDir = previous.stateDir;
    await waitFor('the disk unmounted', async () =>
      readFileSync('/proc/mounts', 'utf8').includes(stateDir) ? undefined : true,
    );
  });
});
