// The real gcloud CLI, unmodified, against `sealroom serve`: the seed tutorial's builder, operator and collaborator
// commands by endpoint override, then a KMS decryption as a federated principal (`gcloud auth login --cred-file`
// with the external_account credential Sealroom writes), by service-account impersonation, and as a service
// account from its key file. Skipped only where gcloud is not installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { buildExternalAccountCredentials, impersonationUrlFor, tokenUrlFor } from '@sealroom/workload';
import { SignJWT } from 'jose';
import { createSeedSubscription } from '../support/launch.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

// biome-ignore lint/suspicious/noExplicitAny: gcloud's JSON output, read field by field
type Json = any;

const GCLOUD = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0 ? 'gcloud' : undefined;
const COMMAND_TIMEOUT_MS = 90_000;
/** gcloud takes a second or two per command (far more on a loaded machine); each test runs up to ~25 of them. */
const TEST = { timeout: 900_000 };
const BUILDER = 'builder-project';
const OPERATOR = 'operator-project';
const COLLAB = 'collaborator-1-project';
const OPERATOR_SA = `operator-svc-account@${OPERATOR}.iam.gserviceaccount.com`;
const COLLAB_SA = `collab-sa@${COLLAB}.iam.gserviceaccount.com`;
const DIGEST = 'sha256:a76fd40d851d895f6eee2b047ceaf84fcb06812ef1707dbc9a22e4e74f4cfd1f';
const KEY = `projects/${COLLAB}/locations/global/keyRings/kr1/cryptoKeys/key1`;
/** The services whose endpoints gcloud is pointed at (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`). */
const APIS = [
  'CLOUDRESOURCEMANAGER',
  'SERVICEUSAGE',
  'IAM',
  'IAMCREDENTIALS',
  'STS',
  'CLOUDKMS',
  'SECRETMANAGER',
  'ARTIFACTREGISTRY',
  'PUBSUB',
  'LOGGING',
];

const dir = mkdtempSync(join(tmpdir(), 'sealroom-gcloud-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
let issuerUrl = '';
const issuer = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/.well-known/openid-configuration')
    res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
  else if (req.url === '/jwks')
    res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' }] }));
  else res.writeHead(404).end('{}');
});
let server: ServerProcess;
let env: NodeJS.ProcessEnv;
const numbers: Record<string, string> = {};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(GCLOUD as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `gcloud ARGS` and requires success; answers its stdout. */
async function gcloud(...args: string[]): Promise<string> {
  const result = await run(args);
  assert.equal(result.code, 0, `gcloud ${args.join(' ')}\n${result.stderr}`);
  return result.stdout;
}

async function gcloudJson(...args: string[]): Promise<Json> {
  return JSON.parse(await gcloud(...args, '--format=json'));
}

/** The members a policy binds to a role. */
function membersOf(policy: Json, role: string): string[] {
  return (policy.bindings ?? []).find((b: Json) => b.role === role)?.members ?? [];
}

async function attestationToken(imageReference: string, serviceAccount = OPERATOR_SA): Promise<string> {
  const claims = JSON.parse(readFileSync(join(resolveSharedDir(), 'contracts', 'token-claims.example.json'), 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  claims.submods.container.image_reference = imageReference;
  claims.submods.container.image_digest = imageReference.slice(imageReference.indexOf('@') + 1);
  claims.submods.gce.project_id = OPERATOR;
  claims.google_service_accounts = [serviceAccount];
  return new SignJWT({ ...claims, iss: issuerUrl, iat: now - 10, nbf: now - 10, exp: now + 3000 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .sign(privateKey);
}

/** Signs a user in with the sealroom CLI and gives its access token to a gcloud configuration. */
async function configure(name: string, account: string, project: string): Promise<void> {
  const login = await server.cli(['auth', 'login', account]);
  assert.equal(login.code, 0, login.stderr);
  const token = await server.cli(['auth', 'print-access-token']);
  assert.equal(token.code, 0, token.stderr);
  const tokenFile = join(dir, `${name}.token`);
  writeFileSync(tokenFile, token.stdout.trim(), { mode: 0o600 });
  await gcloud('config', 'configurations', 'create', name);
  await gcloud('config', 'set', 'account', account);
  await gcloud('config', 'set', 'project', project);
  await gcloud('config', 'set', 'auth/access_token_file', tokenFile);
}

describe('gcloud, unmodified, runs the seed tutorial against sealroom serve', {
  skip: GCLOUD ? false : 'gcloud is not installed',
}, () => {
  before(async () => {
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    server = await startServerProcess({ readyTimeoutMs: 120_000 });
    const base = `${server.url}/`;
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      CLOUDSDK_CONFIG: join(dir, 'gcloud'),
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
      CLOUDSDK_SURVEY_DISABLE_PROMPTS: 'true',
      CLOUDSDK_AUTH_TOKEN_HOST: `${server.url}/token`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${server.url}/compute/v1/`,
      ...Object.fromEntries(APIS.map((api) => [`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`, base])),
    };
    for (const [name, project] of [
      ['builder', BUILDER],
      ['operator', OPERATOR],
      ['collaborator-1', COLLAB],
    ] as const) {
      await configure(name, `${name}@example.com`, project);
      await gcloud('projects', 'create', project);
      numbers[project] = (await gcloud('projects', 'describe', project, '--format=value(projectNumber)')).trim();
      assert.match(numbers[project] as string, /^\d{12}$/);
    }
  }, TEST);
  after(async () => {
    await server?.stop();
    server?.cleanup();
    await new Promise<void>((resolve) => issuer.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the builder enables services, creates the repository, the signing key and their bindings', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'builder');
    assert.equal((await gcloud('config', 'get-value', 'core/project')).trim(), BUILDER);
    await gcloud(
      'services',
      'enable',
      'artifactregistry.googleapis.com',
      'cloudkms.googleapis.com',
      'iam.googleapis.com',
    );
    await gcloud('services', 'enable', 'pubsub.googleapis.com');
    const enabled = await gcloudJson('services', 'list', '--enabled');
    assert.ok(enabled.some((s: Json) => s.config.name === 'pubsub.googleapis.com'));
    await gcloud(
      'artifacts',
      'repositories',
      'create',
      'repo1',
      '--repository-format=docker',
      '--location=us-central1',
    );
    await gcloud('iam', 'service-accounts', 'create', 'cosign');
    const cosign = `serviceAccount:cosign@${BUILDER}.iam.gserviceaccount.com`;
    for (const role of ['roles/logging.logWriter', 'roles/cloudkms.viewer'])
      await gcloud('projects', 'add-iam-policy-binding', BUILDER, `--member=${cosign}`, `--role=${role}`);
    await gcloud(
      'artifacts',
      'repositories',
      'add-iam-policy-binding',
      'repo1',
      '--location=us-central1',
      `--member=${cosign}`,
      '--role=roles/artifactregistry.writer',
    );
    await gcloud('kms', 'keyrings', 'create', 'cosignkr', '--location=global');
    const keyFlags = ['--keyring=cosignkr', '--location=global'];
    await gcloud(
      'kms',
      'keys',
      'create',
      'key1',
      ...keyFlags,
      '--purpose=asymmetric-signing',
      '--default-algorithm=ec-sign-p256-sha256',
    );
    const keys = await gcloudJson('kms', 'keys', 'list', ...keyFlags);
    assert.equal(keys[0].versionTemplate.algorithm, 'EC_SIGN_P256_SHA256');
    for (const [member, role] of [
      [cosign, 'roles/cloudkms.signer'],
      ['user:builder@example.com', 'roles/cloudkms.publicKeyViewer'],
      [cosign, 'roles/cloudkms.publicKeyViewer'],
    ] as const)
      await gcloud(
        'kms',
        'keys',
        'add-iam-policy-binding',
        'key1',
        ...keyFlags,
        `--member=${member}`,
        `--role=${role}`,
      );
    const pem = join(dir, 'kms_pub.pem');
    await gcloud('kms', 'keys', 'versions', 'get-public-key', '1', '--key=key1', ...keyFlags, `--output-file=${pem}`);
    assert.match(readFileSync(pem, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const project = await gcloudJson('projects', 'get-iam-policy', BUILDER);
    assert.deepEqual(membersOf(project, 'roles/cloudkms.viewer'), [cosign]);
    const key = await gcloudJson('kms', 'keys', 'get-iam-policy', 'key1', ...keyFlags);
    assert.deepEqual(membersOf(key, 'roles/cloudkms.publicKeyViewer'), ['user:builder@example.com', cosign]);
    const repo = await gcloudJson('artifacts', 'repositories', 'get-iam-policy', 'repo1', '--location=us-central1');
    assert.deepEqual(membersOf(repo, 'roles/artifactregistry.writer'), [cosign]);
  });

  test('the operator creates its service account, topic, subscription and bindings', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'operator');
    await gcloud('iam', 'service-accounts', 'create', 'operator-svc-account');
    const sa = `serviceAccount:${OPERATOR_SA}`;
    for (const role of ['roles/logging.logWriter', 'roles/confidentialcomputing.workloadUser'])
      await gcloud('projects', 'add-iam-policy-binding', OPERATOR, `--member=${sa}`, `--role=${role}`);
    await gcloud('config', 'configurations', 'activate', 'builder');
    await gcloud(
      'artifacts',
      'repositories',
      'add-iam-policy-binding',
      'repo1',
      '--location=us-central1',
      `--member=${sa}`,
      '--role=roles/artifactregistry.reader',
      '--project',
      BUILDER,
    );
    await gcloud('config', 'configurations', 'activate', 'operator');
    await createSeedSubscription(gcloud, sa);
    await gcloud(
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      'cs-topic',
      '--member=user:collaborator-1@example.com',
      '--role=roles/pubsub.publisher',
    );
    const policy = await gcloudJson('projects', 'get-iam-policy', OPERATOR);
    assert.deepEqual(membersOf(policy, 'roles/confidentialcomputing.workloadUser'), [sa]);
    const subscription = await gcloudJson('pubsub', 'subscriptions', 'describe', 'cs-subscribe');
    assert.equal(subscription.topic, `projects/${OPERATOR}/topics/cs-topic`);
  });

  test(
    'the operator creates, describes and deletes the confidential instance with the tutorial’s command line',
    TEST,
    async () => {
      await gcloud('config', 'configurations', 'activate', 'operator');
      const reference = `${server.url.replace('http://', '')}/${BUILDER}/repo1/tee@${DIGEST}`;
      await gcloud(
        'compute',
        'instances',
        'create',
        'vm1',
        '--confidential-compute',
        '--shielded-secure-boot',
        '--tags=tee-vm',
        '--maintenance-policy=TERMINATE',
        '--scopes=cloud-platform',
        '--zone=us-central1-a',
        '--image-project=confidential-space-images',
        '--image-family=confidential-space',
        '--network=teenetwork',
        '--no-address',
        `--service-account=${OPERATOR_SA}`,
        `--metadata=^~^tee-image-reference=${reference}~tee-restart-policy=Never~tee-container-log-redirect=true`,
      );
      const instance = await gcloudJson('compute', 'instances', 'describe', 'vm1', '--zone=us-central1-a');
      assert.deepEqual(instance.serviceAccounts[0].email, OPERATOR_SA);
      assert.deepEqual(Object.fromEntries(instance.metadata.items.map((i: Json) => [i.key, i.value])), {
        'tee-image-reference': reference,
        'tee-restart-policy': 'Never',
        'tee-container-log-redirect': 'true',
      });
      assert.equal(instance.confidentialInstanceConfig.enableConfidentialCompute, true);
      assert.deepEqual(instance.tags.items, ['tee-vm']);
      await gcloud(
        'compute',
        'instances',
        'describe',
        'vm1',
        '--zone=us-central1-a',
        '--format=get(networkInterfaces[0].accessConfigs.natIP)',
      );
      // instances.setMetadata under the fingerprint gcloud read: add one item, then remove it.
      await gcloud('compute', 'instances', 'add-metadata', 'vm1', '--zone=us-central1-a', '--metadata=team=ops');
      await gcloud(
        'compute',
        'instances',
        'remove-metadata',
        'vm1',
        '--zone=us-central1-a',
        '--keys=tee-container-log-redirect',
      );
      const changed = await gcloudJson('compute', 'instances', 'describe', 'vm1', '--zone=us-central1-a');
      assert.deepEqual(Object.fromEntries(changed.metadata.items.map((i: Json) => [i.key, i.value])), {
        'tee-image-reference': reference,
        'tee-restart-policy': 'Never',
        team: 'ops',
      });
      await gcloud('compute', 'instances', 'delete', 'vm1', '--zone=us-central1-a');
      const gone = await run(['compute', 'instances', 'describe', 'vm1', '--zone=us-central1-a']);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /was not found/);
    },
  );

  test(
    'the collaborator creates its pool, provider, key and bindings; the attested workload decrypts',
    TEST,
    async () => {
      await gcloud('config', 'configurations', 'activate', 'collaborator-1');
      const number = numbers[COLLAB] as string;
      await gcloud(
        'services',
        'enable',
        'cloudkms.googleapis.com',
        'iamcredentials.googleapis.com',
        'sts.googleapis.com',
      );
      await gcloud('iam', 'workload-identity-pools', 'create', 'trusted-workload-pool', '--location=global');
      // The tutorial's provider, its issuer being the attestation verifier this test stands up.
      await gcloud(
        'iam',
        'workload-identity-pools',
        'providers',
        'create-oidc',
        'attestation-verifier',
        '--location=global',
        '--workload-identity-pool=trusted-workload-pool',
        `--issuer-uri=${issuerUrl}`,
        '--allowed-audiences=https://sts.googleapis.com',
        '--attribute-mapping=google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference',
        `--attribute-condition=assertion.swname=='CONFIDENTIAL_SPACE' && "STABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.gce.project_id=='${OPERATOR}' && '${OPERATOR_SA}' in assertion.google_service_accounts`,
      );
      const provider = await gcloudJson(
        'iam',
        'workload-identity-pools',
        'providers',
        'describe',
        'attestation-verifier',
        '--location=global',
        '--workload-identity-pool=trusted-workload-pool',
      );
      assert.equal(provider.state, 'ACTIVE');
      assert.equal(
        provider.attributeMapping['attribute.image_reference'],
        'assertion.submods.container.image_reference',
      );
      await gcloud('kms', 'keyrings', 'create', 'kr1', '--location=global', '--project', COLLAB);
      await gcloud('kms', 'keys', 'create', '--keyring=kr1', '--location=global', '--purpose=encryption', 'key1');
      const keyFlags = ['--keyring=kr1', '--location=global', '--project', COLLAB];
      const image = `us-central1-docker.pkg.dev/${BUILDER}/repo1/tee@${DIGEST}`;
      const principalSet = `principalSet://iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_reference/${image}`;
      await gcloud(
        'kms',
        'keys',
        'add-iam-policy-binding',
        'key1',
        ...keyFlags,
        '--member=user:collaborator-1@example.com',
        '--role=roles/cloudkms.cryptoKeyEncrypter',
      );
      await gcloud(
        'kms',
        'keys',
        'add-iam-policy-binding',
        'key1',
        ...keyFlags,
        `--member=${principalSet}`,
        '--role=roles/cloudkms.cryptoKeyDecrypter',
      );
      const plaintext = join(dir, 'plain.txt');
      const ciphertext = join(dir, 'cipher.bin');
      writeFileSync(plaintext, 'alice');
      await gcloud(
        'kms',
        'encrypt',
        '--key=key1',
        ...keyFlags,
        `--plaintext-file=${plaintext}`,
        `--ciphertext-file=${ciphertext}`,
      );
      // The owner may administer the key but not use it to decrypt: basic roles never grant data-plane use.
      const owner = await run([
        'kms',
        'decrypt',
        '--key=key1',
        ...keyFlags,
        `--ciphertext-file=${ciphertext}`,
        '--plaintext-file=-',
      ]);
      assert.notEqual(owner.code, 0);
      assert.match(owner.stderr, /PERMISSION_DENIED/);

      // The workload: the credential Sealroom writes, given to gcloud as a user would give it a credential file.
      const audience = `//iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier`;
      const tokenFile = join(dir, 'attestation-token');
      const credFile = join(dir, 'workload-credential.json');
      writeFileSync(
        credFile,
        JSON.stringify(buildExternalAccountCredentials({ audience, tokenUrl: tokenUrlFor(server.url), tokenFile })),
      );
      writeFileSync(tokenFile, await attestationToken(image));
      await gcloud('config', 'configurations', 'create', 'workload');
      await gcloud('auth', 'login', `--cred-file=${credFile}`);
      const account = (await gcloud('config', 'get-value', 'core/account')).trim();
      assert.match(
        account,
        new RegExp(
          `^principal://iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/trusted-workload-pool/subject/`,
        ),
      );
      const decrypted = await gcloud(
        'kms',
        'decrypt',
        '--key=key1',
        ...keyFlags,
        `--ciphertext-file=${ciphertext}`,
        '--plaintext-file=-',
      );
      assert.equal(decrypted, 'alice');

      // Another image earns a token too, but not the key.
      writeFileSync(
        tokenFile,
        await attestationToken(`us-central1-docker.pkg.dev/${BUILDER}/repo1/tee@sha256:${'b8'.repeat(32)}`),
      );
      await gcloud('auth', 'login', `--cred-file=${credFile}`);
      const refused = await run([
        'kms',
        'decrypt',
        '--key=key1',
        ...keyFlags,
        `--ciphertext-file=${ciphertext}`,
        '--plaintext-file=-',
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /PERMISSION_DENIED/);

      // The collaborator's audit log names the federated principal that decrypted.
      await gcloud('config', 'configurations', 'activate', 'collaborator-1');
      const entries = await gcloudJson(
        'logging',
        'read',
        'protoPayload.methodName="google.cloud.kms.v1.KeyManagementService.Decrypt"',
        '--freshness=1h',
      );
      const subjects = entries.map((e: Json) => e.protoPayload.authenticationInfo?.principalSubject ?? '');
      assert.ok(
        subjects.some((s: string) => s.startsWith('principal://') && s.includes('trusted-workload-pool')),
        JSON.stringify(subjects),
      );
    },
  );

  test('impersonation: a pool may act as the collaborator’s service account, which holds the key', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'collaborator-1');
    const number = numbers[COLLAB] as string;
    const keyFlags = ['--keyring=kr1', '--location=global', '--project', COLLAB];
    await gcloud('iam', 'service-accounts', 'create', 'collab-sa');
    await gcloud(
      'kms',
      'keys',
      'add-iam-policy-binding',
      KEY,
      `--member=serviceAccount:${COLLAB_SA}`,
      '--role=roles/cloudkms.cryptoKeyDecrypter',
    );
    await gcloud('iam', 'workload-identity-pools', 'create', 'sa-pool', '--location=global');
    await gcloud(
      'iam',
      'service-accounts',
      'add-iam-policy-binding',
      COLLAB_SA,
      `--member=principalSet://iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/sa-pool/*`,
      '--role=roles/iam.workloadIdentityUser',
    );
    const saPolicy = await gcloudJson('iam', 'service-accounts', 'get-iam-policy', COLLAB_SA);
    assert.equal(membersOf(saPolicy, 'roles/iam.workloadIdentityUser').length, 1);
    await gcloud(
      'iam',
      'workload-identity-pools',
      'providers',
      'create-oidc',
      'attestation-verifier',
      '--location=global',
      '--workload-identity-pool=sa-pool',
      `--issuer-uri=${issuerUrl}`,
      '--allowed-audiences=https://sts.googleapis.com',
      '--attribute-mapping=google.subject=assertion.sub',
      `--attribute-condition=assertion.submods.container.image_digest == '${DIGEST}' && '${OPERATOR_SA}' in assertion.google_service_accounts && assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes`,
    );
    const ciphertext = join(dir, 'cipher.bin');
    const tokenFile = join(dir, 'attestation-token-sa');
    const credFile = join(dir, 'workload-sa-credential.json');
    writeFileSync(tokenFile, await attestationToken(`us-central1-docker.pkg.dev/${BUILDER}/repo1/tee@${DIGEST}`));
    writeFileSync(
      credFile,
      JSON.stringify(
        buildExternalAccountCredentials({
          audience: `//iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/sa-pool/providers/attestation-verifier`,
          tokenUrl: tokenUrlFor(server.url),
          impersonationUrl: impersonationUrlFor(server.url, COLLAB_SA),
          tokenFile,
        }),
      ),
    );
    await gcloud('config', 'configurations', 'create', 'workload-sa');
    await gcloud('auth', 'login', `--cred-file=${credFile}`);
    assert.equal((await gcloud('config', 'get-value', 'core/account')).trim(), COLLAB_SA);
    const decrypted = await gcloud(
      'kms',
      'decrypt',
      '--key=key1',
      ...keyFlags,
      `--ciphertext-file=${ciphertext}`,
      '--plaintext-file=-',
    );
    assert.equal(decrypted, 'alice');
  });

  test('a service account key file signs gcloud in; it gets access and ID tokens from Sealroom', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'collaborator-1');
    const keyFile = join(dir, 'collab-sa.json');
    await gcloud('iam', 'service-accounts', 'keys', 'create', keyFile, `--iam-account=${COLLAB_SA}`);
    const key = JSON.parse(readFileSync(keyFile, 'utf8'));
    assert.equal(key.token_uri, `${server.url}/token`);
    await gcloud('config', 'configurations', 'create', 'key-file');
    await gcloud('auth', 'activate-service-account', `--key-file=${keyFile}`);
    const decrypted = await gcloud(
      'kms',
      'decrypt',
      '--key=key1',
      '--keyring=kr1',
      '--location=global',
      '--project',
      COLLAB,
      `--ciphertext-file=${join(dir, 'cipher.bin')}`,
      '--plaintext-file=-',
    );
    assert.equal(decrypted, 'alice');
    const idToken = (
      await gcloud('auth', 'print-identity-token', '--audiences=https://tee.collaborator1.example')
    ).trim();
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString('utf8'));
    assert.equal(claims.aud, 'https://tee.collaborator1.example');
    assert.equal(claims.email, COLLAB_SA);
  });

  test('a collaborator publishes with gcloud and the operator pulls it', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'collaborator-1');
    await gcloud(
      'pubsub',
      'topics',
      'publish',
      `projects/${OPERATOR}/topics/cs-topic`,
      '--message=alice',
      '--attribute=user=alice',
    );
    await gcloud('config', 'configurations', 'activate', 'operator');
    const pulled = await gcloudJson('pubsub', 'subscriptions', 'pull', 'cs-subscribe', '--auto-ack', '--limit=1');
    assert.equal(pulled.length, 1);
    assert.equal(Buffer.from(pulled[0].message.data, 'base64').toString('utf8'), 'alice');
    assert.equal(pulled[0].message.attributes.user, 'alice');
  });

  test('the operator creates, lists and deletes a firewall rule with gcloud compute firewall-rules', TEST, async () => {
    await gcloud('config', 'configurations', 'activate', 'operator');
    await gcloud(
      'compute',
      'firewall-rules',
      'create',
      'tee-deny-egress',
      '--direction=EGRESS',
      '--action=DENY',
      '--rules=tcp:25,udp',
      '--destination-ranges=198.51.100.0/24',
      '--target-tags=tee-vm',
      '--priority=900',
    );
    const listed = await gcloudJson('compute', 'firewall-rules', 'list');
    assert.deepEqual(
      listed.map((r: Json) => [r.name, r.direction, r.priority, r.denied, r.destinationRanges, r.targetTags]),
      [
        [
          'tee-deny-egress',
          'EGRESS',
          900,
          [{ IPProtocol: 'tcp', ports: ['25'] }, { IPProtocol: 'udp' }],
          ['198.51.100.0/24'],
          ['tee-vm'],
        ],
      ],
    );
    await gcloud('compute', 'firewall-rules', 'delete', 'tee-deny-egress', '--quiet');
    assert.deepEqual(await gcloudJson('compute', 'firewall-rules', 'list'), []);
  });
});
