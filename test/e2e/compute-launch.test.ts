// Instances end to end: build an image, push it, create instances with the operator's command line; the workload
// reads its token and prints claims that match the launch; restart policies, debug hold, debug exec.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '@sealroom/cli';
import { resolveRepoRoot, silentLogger } from '@sealroom/core';
import { type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';

// biome-ignore lint/suspicious/noExplicitAny: token claims and GCE JSON, checked field by field
type Json = any;

const ZONE = 'us-central1-a';
const SA = 'operator-svc-account@operator-project.iam.gserviceaccount.com';
const WAIT_MS = 120_000;

/** The workload: reads the token file, prints selected claims, then exits with $EXIT_CODE (after a second). */
const WORKLOAD = `import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
const dir = process.env.SEALROOM_CONTAINER_LAUNCHER_DIR ?? '/run/container_launcher';
const token = readFileSync(dir + '/attestation_verifier_claims_token', 'utf8');
const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
if (process.argv[2] === 'exec') {
  console.log('EXEC ' + claims.submods.gce.instance_name + ' ' + process.env.HOSTNAME);
  process.exit(0);
}
console.log('CLAIMS ' + JSON.stringify({
  token: createHash('sha256').update(token).digest('hex'),
  aud: claims.aud, dbgstat: claims.dbgstat, hwmodel: claims.hwmodel, swname: claims.swname,
  google_service_accounts: claims.google_service_accounts,
  container: claims.submods.container, gce: claims.submods.gce,
  confidential_space: claims.submods.confidential_space,
}));
if (process.argv[2] === 'wait') {
  process.on('SIGTERM', () => { console.log('SIGTERM received'); process.exit(0); });
  setInterval(() => {}, 1000);
} else {
  const code = Number(process.env.EXIT_CODE ?? '0');
  setTimeout(() => process.exit(code), code === 0 ? 0 : 1100);
}

`;

/**
 * The image's workload runs `/usr/local/bin/node /app/index.mjs`, which needs the image as its root: runc (as
 * root) or bwrap. The plain-process fallback would look for /app on the host, so the suite says why it skips.
 */
function isolationMissing(): string | false {
  const runc = spawnSync('runc', ['--version']).status === 0 && process.getuid?.() === 0;
  const bwrap = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', 'true']).status === 0;
  return runc || bwrap ? false : 'needs runc (as root) or a working bwrap';
}

let server: RunningServer;
let dir: string;
let env: NodeJS.ProcessEnv;
let imageRef: string;
let digest: string;
let signatureRepo: string;
let keyId: string;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

async function ok(...argv: string[]): Promise<string> {
  const result = await cli(...argv);
  assert.equal(result.code, 0, `sealroom ${argv.join(' ')}\n${result.stderr}`);
  return result.stdout;
}

const describeVm = async (name: string): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
const serial = (name: string) => ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const CLAIMS_LINE = /^\S+ workload stdout: CLAIMS (.*)$/;
const claimLines = (text: string): Json[] =>
  text
    .split('\n')
    .map((l) => CLAIMS_LINE.exec(l)?.[1])
    .filter((json) => json !== undefined)
    .map((json) => JSON.parse(json));

/** The seed's `gcloud compute instances create` line, as `sealroom`, with this test's metadata. */
function createLine(name: string, metadata: string, family = 'confidential-space'): string[] {
  return [
    'compute',
    'instances',
    'create',
    name,
    '--confidential-compute',
    '--shielded-secure-boot',
    '--tags=tee-vm',
    '--maintenance-policy=TERMINATE',
    '--scopes=cloud-platform',
    `--zone=${ZONE}`,
    '--image-project=confidential-space-images',
    `--image-family=${family}`,
    '--network=teenetwork',
    '--no-address',
    `--service-account=${SA}`,
    '--metadata',
    `^~^tee-image-reference=${imageRef}~tee-container-log-redirect=true~${metadata}`,
  ];
}

before(async () => {
  if (isolationMissing()) return;
  dir = mkdtempSync(join(tmpdir(), 'sr-e2e-compute-'));
  server = await startServer(
    ServerConfigSchema.parse({ port: 0, grpcPort: -1, dev: true, stateDir: join(dir, 'state'), logLevel: 'silent' }),
    { logger: silentLogger },
  );
  const host = new URL(server.url).host;
  env = { XDG_CONFIG_HOME: join(dir, 'config'), SEALROOM_API: server.url };
  await ok('auth', 'login', 'alice@example.com');
  await ok('projects', 'create', 'builder-project');
  await ok('projects', 'create', 'operator-project');
  await ok('config', 'set', 'project', 'builder-project');
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'claims', version: '1.0.0', type: 'module' }));
  writeFileSync(join(app, 'index.js'), WORKLOAD);
  // The builder finds the pinned Node runtime from the app's folder, as it would inside the workspace.
  symlinkSync(join(resolveRepoRoot(), 'node_modules'), join(app, 'node_modules'));
  writeFileSync(
    join(app, 'sealroom.build.json'),
    JSON.stringify({
      cmd: ['claims'],
      env: { GREETING: 'hello' },
      launchPolicy: { allow_env_override: ['EXIT_CODE', 'GREETING'], allow_cmd_override: true, log_redirect: 'always' },
    }),
  );
  const built = JSON.parse(
    await ok('build', app, `--tag=${host}/builder-project/repo1/claims:v1`, '--compression=none', '--format=json'),
  );
  digest = built.digest;
  imageRef = `${host}/builder-project/repo1/claims@${digest}`;
  // The builder signs the image (cosign's tag scheme); instances discover it from tee-signed-image-repos.
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'builder.key'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await ok('sign', imageRef, '--key', join(dir, 'builder.key'));
  signatureRepo = `${host}/builder-project/repo1/claims`;
  keyId = createHash('sha256')
    .update(pair.publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
  await ok('iam', 'service-accounts', 'create', 'operator-svc-account', '--project=operator-project');
  await ok(
    'projects',
    'add-iam-policy-binding',
    'builder-project',
    `--member=serviceAccount:${SA}`,
    '--role=roles/artifactregistry.reader',
  );
  await ok('config', 'set', 'project', 'operator-project');
  await ok(
    'projects',
    'add-iam-policy-binding',
    'operator-project',
    `--member=serviceAccount:${SA}`,
    '--role=roles/confidentialcomputing.workloadUser',
  );
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('instances running an attested workload', { skip: isolationMissing() }, () => {
  test('Never, exit 0: the token claims match the image, args, env, overrides, instance and service account', async () => {
    await ok(
      ...createLine(
        'vm1',
        `tee-restart-policy=Never~tee-env-GREETING=bonjour~tee-cmd=["claims","--loud"]~tee-signed-image-repos=${signatureRepo}`,
      ),
    );
    const done = await waitFor('vm1 TERMINATED', async () => {
      const vm = await describeVm('vm1');
      return vm.status === 'TERMINATED' ? vm : undefined;
    });
    const output = await serial('vm1');
    assert.equal(done.confidentialSpace.lastExitCode, 0, output);
    assert.equal(done.confidentialSpace.bootCount, 1);
    const [claims, extra] = claimLines(output);
    assert.ok(claims, output);
    assert.equal(extra, undefined);
    assert.equal(claims.aud, 'https://sts.googleapis.com');
    assert.equal(claims.hwmodel, 'SOFTWARE');
    assert.equal(claims.swname, 'CONFIDENTIAL_SPACE');
    assert.equal(claims.dbgstat, 'disabled-since-boot');
    assert.deepEqual(claims.google_service_accounts, [SA]);
    assert.equal(claims.container.image_reference, imageRef);
    assert.equal(claims.container.image_digest, digest);
    assert.equal(claims.container.restart_policy, 'Never');
    assert.deepEqual(claims.container.args, ['/usr/local/bin/node', '/app/index.mjs', 'claims', '--loud']);
    assert.deepEqual(claims.container.cmd_override, ['claims', '--loud']);
    assert.deepEqual(claims.container.env_override, { GREETING: 'bonjour' });
    assert.equal(claims.container.env.GREETING, 'bonjour');
    assert.equal(claims.container.env.HOSTNAME, 'vm1');
    const projectNumber = (
      await ok('projects', 'describe', 'operator-project', '--format=value(projectNumber)')
    ).trim();
    assert.deepEqual(claims.gce, {
      zone: ZONE,
      project_id: 'operator-project',
      project_number: projectNumber,
      instance_name: 'vm1',
      instance_id: done.id,
    });
    assert.ok(claims.confidential_space.support_attributes.includes('STABLE'));
    assert.equal(claims.confidential_space.monitoring_enabled.memory, false);
    assert.deepEqual(
      claims.container.image_signatures.map((sig: Json) => [sig.key_id, sig.signature_algorithm]),
      [[keyId, 'ECDSA_P256_SHA256']],
    );
    assert.match(output, /launcher: exit code 0/);
    // tee-container-log-redirect=true: the same line is in the project's log, with the instance's labels.
    const entries = JSON.parse(await ok('logging', 'read', '--format=json'));
    const logged = entries.find((e: Json) => String(e.textPayload ?? '').startsWith('CLAIMS '));
    assert.ok(logged, JSON.stringify(entries.slice(-3)));
    assert.equal(logged.severity, 'INFO');
    assert.match(logged.logName, /confidential-space-launcher$/);
    if (process.env.SEALROOM_E2E_PRINT_SERIAL) console.log(output);
  });

  test('Never, exit 1: the instance stops after one boot with exit code 1', async () => {
    await ok(...createLine('vm-fail', 'tee-restart-policy=Never~tee-env-EXIT_CODE=1'));
    const done = await waitFor('vm-fail TERMINATED', async () => {
      const vm = await describeVm('vm-fail');
      return vm.status === 'TERMINATED' ? vm : undefined;
    });
    assert.equal(done.confidentialSpace.lastExitCode, 1, await serial('vm-fail'));
    assert.equal(done.confidentialSpace.bootCount, 1);
  });

  test('OnFailure, exit 1: the instance reboots with a new boot count and a new token', async () => {
    await ok(...createLine('vm-retry', 'tee-restart-policy=OnFailure~tee-env-EXIT_CODE=1'));
    const claims = await waitFor('two boots of vm-retry', async () => {
      const lines = claimLines(await serial('vm-retry'));
      return lines.length >= 2 ? lines : undefined;
    });
    await ok('compute', 'instances', 'stop', 'vm-retry', `--zone=${ZONE}`);
    const vm = await describeVm('vm-retry');
    assert.equal(vm.status, 'TERMINATED');
    assert.ok(vm.confidentialSpace.bootCount >= 2);
    assert.notEqual(claims[0].token, claims[1].token);
    assert.equal(claims[1].container.restart_policy, 'OnFailure');
    assert.equal(claims[0].gce.instance_id, claims[1].gce.instance_id);
  });

  test('Always, exit 0: a successful workload reboots too, until the operator stops the instance', async () => {
    await ok(...createLine('vm-always', 'tee-restart-policy=Always'));
    await waitFor('two boots of vm-always', async () =>
      claimLines(await serial('vm-always')).length >= 2 ? true : undefined,
    );
    await ok('compute', 'instances', 'stop', 'vm-always', `--zone=${ZONE}`);
    const vm = await describeVm('vm-always');
    assert.equal(vm.status, 'TERMINATED');
    assert.ok(vm.confidentialSpace.bootCount >= 2);
    assert.match(await serial('vm-always'), /launcher: exit code 3/);
  });

  test('stop sends SIGTERM to a running workload, which can end cleanly; the instance is TERMINATED', async () => {
    await ok(...createLine('vm-wait', 'tee-restart-policy=Never~tee-cmd=["wait"]'));
    await waitFor('vm-wait running its workload', async () =>
      claimLines(await serial('vm-wait')).length === 1 ? true : undefined,
    );
    await ok('compute', 'instances', 'stop', 'vm-wait', `--zone=${ZONE}`);
    const vm = await describeVm('vm-wait');
    assert.equal(vm.status, 'TERMINATED');
    const output = await serial('vm-wait');
    assert.match(output, /workload stdout: SIGTERM received/);
    assert.match(output, /launcher: exit code 0/);
    await ok('compute', 'instances', 'start', 'vm-wait', `--zone=${ZONE}`);
    await waitFor('vm-wait booted again', async () =>
      claimLines(await serial('vm-wait')).length === 2 ? true : undefined,
    );
    assert.equal((await describeVm('vm-wait')).confidentialSpace.bootCount, 2);
    await ok('compute', 'instances', 'delete', 'vm-wait', `--zone=${ZONE}`);
  });

  test('reset kills the workload without SIGTERM and boots it again with a fresh token', async () => {
    await ok(...createLine('vm-reset', 'tee-restart-policy=Never~tee-cmd=["wait"]'));
    await waitFor('vm-reset running its workload', async () =>
      claimLines(await serial('vm-reset')).length === 1 ? true : undefined,
    );
    await ok('compute', 'instances', 'reset', 'vm-reset', `--zone=${ZONE}`);
    await waitFor('vm-reset booted again', async () =>
      claimLines(await serial('vm-reset')).length === 2 ? true : undefined,
    );
    const output = await serial('vm-reset');
    assert.match(output, /sealroom: hard reset/);
    assert.doesNotMatch(output, /SIGTERM received/, 'a reset gives the workload no chance to react');
    assert.equal((await describeVm('vm-reset')).confidentialSpace.bootCount, 2);
    await ok('compute', 'instances', 'delete', 'vm-reset', `--zone=${ZONE}`);
  });

  test('debug image: the launcher holds with 4, the instance stays up and accepts exec; hardened refuses it', async () => {
    await ok(...createLine('dbg', 'tee-restart-policy=Never', 'confidential-space-debug'));
    const held = await waitFor('dbg held', async () => {
      const vm = await describeVm('dbg');
      return vm.confidentialSpace.lastExitCode === undefined ? undefined : vm;
    });
    assert.equal(held.confidentialSpace.lastExitCode, 4);
    assert.equal(held.status, 'RUNNING');
    const [claims] = claimLines(await serial('dbg'));
    assert.equal(claims.dbgstat, 'enabled');
    assert.deepEqual(claims.confidential_space.support_attributes ?? [], []);
    const exec = await ok(
      'compute',
      'ssh',
      'dbg',
      `--zone=${ZONE}`,
      '--command=/usr/local/bin/node /app/index.mjs exec',
    );
    assert.equal(exec.trim(), 'EXEC dbg dbg');
    const refused = await cli('compute', 'ssh', 'vm1', `--zone=${ZONE}`, '--command=id');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /hardened confidential-space image: the operator has no shell/);
    await ok('compute', 'instances', 'delete', 'dbg', `--zone=${ZONE}`);
    const gone = await cli('compute', 'instances', 'describe', 'dbg', `--zone=${ZONE}`);
    assert.equal(gone.code, 1);
  });
});
