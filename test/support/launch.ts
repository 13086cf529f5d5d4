// Shared setup of the launch end-to-end tests: an in-process server, the builder's and operator's projects, an
// image built, pushed and signed, the operator's service account, and the operator's `instances create` line.
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';
import { type CliTestBed, startCliTestBed } from '@sealroom/cli/testing';

// biome-ignore lint/suspicious/noExplicitAny: token claims and GCE JSON, checked field by field
export type Json = any;

export const ZONE = 'us-central1-a';
export const SA = 'operator-svc-account@operator-project.iam.gserviceaccount.com';
export const WAIT_MS = 120_000;

/**
 * The workload: reads the token file, prints selected claims, then exits with $EXIT_CODE (after a second); with
 * `wait` it runs until SIGTERM, with `tick` it also prints five numbered lines every two seconds.
 */
export const CLAIMS_WORKLOAD = `import { createHash } from 'node:crypto';
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
if (process.argv[2] === 'wait' || process.argv[2] === 'tick') {
  process.on('SIGTERM', () => { console.log('SIGTERM received'); process.exit(0); });
  let n = 0;
  setInterval(() => { if (process.argv[2] === 'tick') for (let i = 0; i < 5; i++) console.log('tick ' + ++n); }, 2000);
} else {
  const code = Number(process.env.EXIT_CODE ?? '0');
  setTimeout(() => process.exit(code), code === 0 ? 0 : 1100);
}

`;

/**
 * An image's workload runs from the image as its root, which needs runc (as root) or bwrap. The plain-process
 * fallback would look for the image's files on the host, so the suites say why they skip.
 */
export function isolationMissing(): string | false {
  const runc = spawnSync('runc', ['--version']).status === 0 && process.getuid?.() === 0;
  const bwrap = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', 'true']).status === 0;
  return runc || bwrap ? false : 'needs runc (as root) or a working bwrap';
}

/** Polls `probe` every 200 ms until it returns a value, for at most WAIT_MS. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const CLAIMS_LINE = /^\S+ workload stdout: CLAIMS (.*)$/;
/** The claims CLAIMS_WORKLOAD printed, from an instance's serial output. */
export const claimLines = (text: string): Json[] =>
  text
    .split('\n')
    .map((l) => CLAIMS_LINE.exec(l)?.[1])
    .filter((json) => json !== undefined)
    .map((json) => JSON.parse(json));

/**
 * A server (with `config` merged over the dev defaults) and a logged-in CLI with the builder's and the operator's
 * projects and the builder's docker repository `repo1`; the CLI's project is builder-project.
 */
export async function startLaunchBed(name: string, config?: Record<string, unknown>): Promise<CliTestBed> {
  const bed = await startCliTestBed({ name, ...(config ? { config } : {}) });
  try {
    await bed.ok('auth', 'login', 'alice@example.com');
    await bed.ok('projects', 'create', 'builder-project');
    await bed.ok('projects', 'create', 'operator-project');
    await bed.ok('config', 'set', 'project', 'builder-project');
    await bed.ok(
      'artifacts',
      'repositories',
      'create',
      'repo1',
      '--repository-format=docker',
      '--location=us-central1',
    );
  } catch (error) {
    await bed.close();
    throw error;
  }
  return bed;
}

export interface SignedImage {
  /** `HOST/builder-project/repo1/claims@DIGEST`. */
  readonly imageRef: string;
  readonly digest: string;
  /** Where the signature is (cosign's tag scheme), for tee-signed-image-repos. */
  readonly signatureRepo: string;
  /** The hex SHA-256 of the signing key's SPKI. */
  readonly keyId: string;
}

/** Builds CLAIMS_WORKLOAD as `repo1/claims:v1` with its launch policy, pushes it and signs it with a new P-256 key. */
export async function buildSignedClaimsImage(bed: CliTestBed): Promise<SignedImage> {
  const host = new URL(bed.server.url).host;
  const { imageRef, digest } = await buildWorkloadImage(bed.ok, {
    dir: join(bed.dir, 'app'),
    registry: host,
    repository: 'builder-project/repo1',
    name: 'claims',
    source: CLAIMS_WORKLOAD,
    buildConfig: {
      cmd: ['claims'],
      env: { GREETING: 'hello' },
      launchPolicy: { allow_env_override: ['EXIT_CODE', 'GREETING'], allow_cmd_override: true, log_redirect: 'always' },
    },
  });
  // The builder signs the image (cosign's tag scheme); instances discover it from tee-signed-image-repos.
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(bed.dir, 'builder.key'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await bed.ok('sign', imageRef, '--key', join(bed.dir, 'builder.key'));
  const keyId = createHash('sha256')
    .update(pair.publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
  return { imageRef, digest, signatureRepo: `${host}/builder-project/repo1/claims`, keyId };
}

/** A Node workload app: one `index.js`, built with `sealroom build` (no compression) and pushed. */
export interface WorkloadApp {
  /** Folder the app is written into (it must not exist yet). */
  readonly dir: string;
  /** The registry host, `host:port` of the server. */
  readonly registry: string;
  /** `PROJECT/REPOSITORY` in that registry. */
  readonly repository: string;
  readonly name: string;
  /** The workload's `index.js`. */
  readonly source: string;
  /** Its sealroom.build.json. */
  readonly buildConfig: Record<string, unknown>;
}

/** Writes the app, builds `REGISTRY/REPOSITORY/NAME:v1` with `run` (the CLI), pushes it; returns the pinned reference. */
export async function buildWorkloadImage(
  run: (...argv: string[]) => Promise<string>,
  app: WorkloadApp,
): Promise<{ imageRef: string; digest: string }> {
  mkdirSync(app.dir);
  writeFileSync(join(app.dir, 'package.json'), JSON.stringify({ name: app.name, version: '1.0.0', type: 'module' }));
  writeFileSync(join(app.dir, 'index.js'), app.source);
  // The builder finds the pinned Node runtime from the app's folder, as it would inside the workspace.
  symlinkSync(join(resolveRepoRoot(), 'node_modules'), join(app.dir, 'node_modules'));
  writeFileSync(join(app.dir, 'sealroom.build.json'), JSON.stringify(app.buildConfig));
  const image = `${app.registry}/${app.repository}/${app.name}`;
  const built = JSON.parse(await run('build', app.dir, `--tag=${image}:v1`, '--compression=none', '--format=json')) as {
    digest: string;
  };
  return { imageRef: `${image}@${built.digest}`, digest: built.digest };
}

/** The seed's Pub/Sub for an instance: topic cs-topic, subscription cs-subscribe, `member` its subscriber (any CLI). */
export async function createSeedSubscription(run: (...argv: string[]) => Promise<unknown>, member: string) {
  await run('pubsub', 'topics', 'create', 'cs-topic');
  await run('pubsub', 'subscriptions', 'create', 'cs-subscribe', '--topic=cs-topic');
  await run(
    'pubsub',
    'subscriptions',
    'add-iam-policy-binding',
    'cs-subscribe',
    `--member=${member}`,
    '--role=roles/pubsub.subscriber',
  );
}

/**
 * The operator's service account SA, allowed to read the builder's images, to be a workload user in
 * operator-project and to write its log; leaves the CLI's project at operator-project.
 */
export async function grantOperatorServiceAccount(bed: CliTestBed): Promise<void> {
  await bed.ok('iam', 'service-accounts', 'create', 'operator-svc-account', '--project=operator-project');
  await bed.ok(
    'projects',
    'add-iam-policy-binding',
    'builder-project',
    `--member=serviceAccount:${SA}`,
    '--role=roles/artifactregistry.reader',
  );
  await bed.ok('config', 'set', 'project', 'operator-project');
  // The log writer role lets the instance write its workload's lines to the project's log, as on Google Cloud.
  for (const role of ['roles/confidentialcomputing.workloadUser', 'roles/logging.logWriter'])
    await bed.ok(
      'projects',
      'add-iam-policy-binding',
      'operator-project',
      `--member=serviceAccount:${SA}`,
      `--role=${role}`,
    );
}

/** The seed's `gcloud compute instances create` line, as `sealroom`, for `imageRef` with extra metadata. */
export function instancesCreateLine(
  name: string,
  imageRef: string,
  metadata: string,
  family = 'confidential-space',
): string[] {
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

/**
 * The launch tests' usual start: `startLaunchBed`, the signed claims image, and the operator's service account
 * granted (the CLI's project is then operator-project).
 */
export async function startClaimsLaunchBed(
  name: string,
  config?: Record<string, unknown>,
): Promise<{ bed: CliTestBed; image: SignedImage }> {
  const bed = await startLaunchBed(name, config);
  try {
    const image = await buildSignedClaimsImage(bed);
    await grantOperatorServiceAccount(bed);
    return { bed, image };
  } catch (error) {
    await bed.close();
    throw error;
  }
}
