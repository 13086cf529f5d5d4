// Stopping `sealroom serve` however it was started: SIGTERM to the re-executing wrapper (another Node ran
// bin/sealroom.js), to `npm run serve`, and SIGINT to the bin/sealroom shim all reach the real server, which
// stops its instances' workloads first: no workload process outlives it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '@sealroom/cli';
import { resolveRepoRoot } from '@sealroom/core';
import { freePort, SEALROOM_BIN } from '../support/server-process.ts';
import { processesWith } from '@sealroom/core/testing';

const root = resolveRepoRoot();
const SHIM = join(root, 'packages', 'cli', 'bin', 'sealroom');
const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-signals-'));
  dirs.push(dir);
  return dir;
}

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `command args` (some way of running `sealroom serve`) and waits until it answers /readyz. */
async function serve(command: string, args: readonly string[], port: number): Promise<Served> {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    assert.equal(child.exitCode, null, `exited early:\n${output}`);
    if ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok) break;
    assert.ok(Date.now() < deadline, `not ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, output: () => output, exited };
}

/** The processes whose parent is `pid` (from /proc/PID/stat: the field after the state). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function stopped(url: string): Promise<boolean> {
  return (await fetch(`${url}/healthz`).catch(() => undefined)) === undefined;
}

const serveArgs = (port: number, stateDir: string) => [
  'serve',
  '--dev',
  '--port',
  String(port),
  '--grpc-port',
  '-1',
  '--state-dir',
  stateDir,
];

/** A Node other than the pinned one (the machine's), which makes bin/sealroom.js re-execute itself. */
const OTHER_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find(
  (path) => existsSync(path) && spawnSync(path, ['--version']).stdout?.toString().trim() !== process.version,
);

test('SIGTERM to the wrapper that re-executes on the pinned Node stops the real server', {
  skip: OTHER_NODE ? false : 'no Node other than the pinned one on this machine',
}, async () => {
  const port = await freePort();
  const served = await serve(OTHER_NODE ?? 'node', [SEALROOM_BIN, ...serveArgs(port, join(tempDir(), 'state'))], port);
  const inner = childrenOf(served.child.pid ?? 0).join(' ');
  assert.match(inner, /^\d+$/, 'the wrapper runs the server as its child');
  served.child.kill('SIGTERM');
  assert.equal(await served.exited, 0, served.output());
  assert.ok(await stopped(served.url));
  assert.equal(existsSync(`/proc/${inner}`), false, 'the re-executed server is gone');
  assert.match(served.output(), /SIGTERM: stopping Sealroom[^\n]*\n(.|\n)*Sealroom stopped\./);
});

test('SIGTERM to `npm run serve` reaches the server (the script execs it)', async () => {
  const port = await freePort();
  const served = await serve(
    'npm',
    ['run', '--silent', 'serve', '--', ...serveArgs(port, join(tempDir(), 'state')).slice(2)],
    port,
  );
  served.child.kill('SIGTERM');
  await served.exited;
  const deadline = Date.now() + 30_000;
  while (!(await stopped(served.url))) {
    assert.ok(Date.now() < deadline, `the server outlived npm:\n${served.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(served.output(), /SIGTERM: stopping Sealroom/);
});

/** The workload (Node inside the image): says it waits, then waits; ends on SIGTERM. */
const WORKLOAD = `console.log('WAITING ' + process.argv.slice(2).join(' '));
process.on('SIGTERM', () => { console.log('SIGTERM received'); process.exit(0); });
setInterval(() => {}, 1000);
`;

/** As in compute-launch.test.ts: the image's workload needs runc (as root) or bwrap. */
function isolationMissing(): string | false {
  const runc = spawnSync('runc', ['--version']).status === 0 && process.getuid?.() === 0;
  const bwrap = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', 'true']).status === 0;
  return runc || bwrap ? false : 'needs runc (as root) or a working bwrap';
}

test('SIGINT to the sealroom shim stops the instance workloads: none outlives the server', {
  skip: isolationMissing(),
}, async () => {
  const dir = tempDir();
  const port = await freePort();
  const served = await serve(SHIM, serveArgs(port, join(dir, 'state')), port);
  const env = { XDG_CONFIG_HOME: join(dir, 'config'), SEALROOM_API: served.url };
  const ok = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
    assert.equal(code, 0, `sealroom ${argv.join(' ')}\n${err}`);
    return out;
  };
  const sa = 'operator-svc-account@signals-project.iam.gserviceaccount.com';
  await ok('auth', 'login', 'alice@example.com');
  await ok('projects', 'create', 'signals-project');
  await ok('config', 'set', 'project', 'signals-project');
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'claims', version: '1.0.0', type: 'module' }));
  writeFileSync(join(app, 'index.js'), WORKLOAD);
  symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
  writeFileSync(
    join(app, 'sealroom.build.json'),
    JSON.stringify({ cmd: ['claims'], launchPolicy: { allow_cmd_override: true, log_redirect: 'always' } }),
  );
  const host = new URL(served.url).host;
  const built = JSON.parse(
    await ok('build', app, `--tag=${host}/signals-project/repo1/waiter:v1`, '--compression=none', '--format=json'),
  ) as { digest: string };
  await ok('iam', 'service-accounts', 'create', 'operator-svc-account');
  for (const role of ['roles/artifactregistry.reader', 'roles/confidentialcomputing.workloadUser'])
    await ok(
      'projects',
      'add-iam-policy-binding',
      'signals-project',
      `--member=serviceAccount:${sa}`,
      `--role=${role}`,
    );
  const marker = `signals-${process.pid}-${Date.now()}`;
  await ok(
    'compute',
    'instances',
    'create',
    'vm-wait',
    '--confidential-compute',
    '--zone=us-central1-a',
    '--image-project=confidential-space-images',
    '--image-family=confidential-space',
    `--service-account=${sa}`,
    '--metadata',
    `^~^tee-image-reference=${host}/signals-project/repo1/waiter@${built.digest}~tee-container-log-redirect=true~tee-restart-policy=Never~tee-cmd=["wait","${marker}"]`,
  );
  const deadline = Date.now() + 120_000;
  const serial = () => ok('compute', 'instances', 'get-serial-port-output', 'vm-wait', '--zone=us-central1-a');
  while (!(await serial()).includes(`WAITING wait ${marker}`)) {
    assert.ok(Date.now() < deadline, `the workload did not start:\n${served.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.notDeepEqual(processesWith(marker), [], 'the workload runs on this host');
  served.child.kill('SIGINT');
  const code = await served.exited;
  assert.deepEqual(processesWith(marker), [], 'no workload process outlives the server');
  assert.equal(code, 0, served.output());
  assert.ok(await stopped(served.url));
});
