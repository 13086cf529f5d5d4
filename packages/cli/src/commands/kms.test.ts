// The seed's `gcloud kms …` and `gcloud secrets …` lines, as `sealroom …`, against a live server.
import assert from 'node:assert/strict';
import { createVerify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type CliTestBed, startCliTestBed } from '../testing.ts';
import { toDurationJson } from './kms.ts';

let dir: string;

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);
const ok = (...argv: string[]) => bed.ok(...argv);

before(async () => {
  bed = await startCliTestBed({ name: 'kms' });
  ({ dir } = bed);
  await ok('auth', 'login', 'collab@example.com');
  await ok('projects', 'create', 'collab-1');
  await ok('config', 'set', 'project', 'collab-1');
});

after(() => bed.close());

it('converts gcloud durations', () => {
  assert.equal(toDurationJson('30d'), '2592000s');
  assert.throws(() => toDurationJson('soon'));
});

it("runs the seed's key commands: create, bind, encrypt and decrypt files with AAD", async () => {
  await ok('kms', 'keyrings', 'create', 'kr1', '--location=global', '--project', 'collab-1');
  await ok('kms', 'keys', 'create', '--keyring=kr1', '--location=global', '--purpose=encryption', 'key1');
  const keys = JSON.parse(await ok('kms', 'keys', 'list', '--keyring=kr1', '--location=global', '--format=json'));
  assert.equal(keys[0].name, 'projects/collab-1/locations/global/keyRings/kr1/cryptoKeys/key1');
  await ok(
    'kms',
    'keys',
    'add-iam-policy-binding',
    'key1',
    '--keyring=kr1',
    '--location=global',
    '--project',
    'collab-1',
    '--member=user:collab@example.com',
    '--role=roles/cloudkms.cryptoKeyEncrypterDecrypter',
  );
  const policy = JSON.parse(
    await ok('kms', 'keys', 'get-iam-policy', 'key1', '--keyring=kr1', '--location=global', '--format=json'),
  );
  assert.deepEqual(policy.bindings[0].members, ['user:collab@example.com']);
  const plain = join(dir, 'plain.txt');
  const aad = join(dir, 'aad.txt');
  const cipher = join(dir, 'cipher.bin');
  const back = join(dir, 'back.txt');
  writeFileSync(plain, 'word count input');
  writeFileSync(aad, 'collaborator-1');
  await ok(
    'kms',
    'encrypt',
    '--key=key1',
    '--keyring=kr1',
    '--location=global',
    `--plaintext-file=${plain}`,
    `--ciphertext-file=${cipher}`,
    `--additional-authenticated-data-file=${aad}`,
  );
  await ok(
    'kms',
    'decrypt',
    '--key=key1',
    '--keyring=kr1',
    '--location=global',
    `--ciphertext-file=${cipher}`,
    `--plaintext-file=${back}`,
    `--additional-authenticated-data-file=${aad}`,
  );
  assert.equal(readFileSync(back, 'utf8'), 'word count input');
  const failed = await cli(
    'kms',
    'decrypt',
    '--key=key1',
    '--keyring=kr1',
    '--location=global',
    `--ciphertext-file=${cipher}`,
    `--plaintext-file=${back}`,
  );
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /Decryption failed/);
  // Another account, without a binding: the refusal names the role and the command that grants it.
  await ok('auth', 'login', 'stranger@example.com');
  try {
    const denied = await cli(
      'kms',
      'decrypt',
      '--key=key1',
      '--keyring=kr1',
      '--location=global',
      '--project=collab-1',
      `--ciphertext-file=${cipher}`,
      `--plaintext-file=${back}`,
      `--additional-authenticated-data-file=${aad}`,
    );
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /Permission 'cloudkms\.cryptoKeyVersions\.useToDecrypt' denied/);
    assert.match(
      denied.stderr,
      /stranger@example\.com needs roles\/cloudkms\.cryptoKeyDecrypter on it; its owner grants that with:\n {2}sealroom kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global --project=collab-1 --member=user:stranger@example\.com --role=roles\/cloudkms\.cryptoKeyDecrypter\n/,
    );
  } finally {
    await ok('config', 'set', 'account', 'collab@example.com');
  }
});

it("runs the seed's signing key commands: create, versions, public key, asymmetric-sign", async () => {
  await ok('kms', 'keyrings', 'create', 'cosignkr', '--location=global');
  await ok(
    'kms',
    'keys',
    'create',
    'key1',
    '--keyring=cosignkr',
    '--location=global',
    '--purpose=asymmetric-signing',
    '--default-algorithm=ec-sign-p256-sha256',
  );
  await ok(
    'kms',
    'keys',
    'add-iam-policy-binding',
    'key1',
    '--keyring=cosignkr',
    '--location=global',
    '--member=user:collab@example.com',
    '--role=roles/cloudkms.signer',
  );
  const pem = join(dir, 'key.pem');
  await ok(
    'kms',
    'keys',
    'versions',
    'get-public-key',
    '1',
    '--key=key1',
    '--keyring=cosignkr',
    '--location=global',
    `--output-file=${pem}`,
  );
  const input = join(dir, 'payload.json');
  const signature = join(dir, 'payload.sig');
  writeFileSync(input, '{"critical":{}}');
  await ok(
    'kms',
    'asymmetric-sign',
    '--version=1',
    '--key=key1',
    '--keyring=cosignkr',
    '--location=global',
    '--digest-algorithm=sha256',
    `--input-file=${input}`,
    `--signature-file=${signature}`,
  );
  assert.ok(
    createVerify('sha256').update(readFileSync(input)).verify(readFileSync(pem, 'utf8'), readFileSync(signature)),
  );
  await ok('kms', 'keys', 'versions', 'create', '--key=key1', '--keyring=cosignkr', '--location=global');
  await ok('kms', 'keys', 'versions', 'disable', '2', '--key=key1', '--keyring=cosignkr', '--location=global');
  await ok('kms', 'keys', 'versions', 'destroy', '2', '--key=key1', '--keyring=cosignkr', '--location=global');
  const versions = JSON.parse(
    await ok(
      'kms',
      'keys',
      'versions',
      'list',
      '--key=key1',
      '--keyring=cosignkr',
      '--location=global',
      '--format=json',
    ),
  );
  assert.deepEqual(
    versions.map((v: { state: string }) => v.state),
    ['ENABLED', 'DESTROY_SCHEDULED'],
  );
});

it('creates a secret, adds a version, binds an accessor and reads latest', async () => {
  const data = join(dir, 'secret.txt');
  writeFileSync(data, 'api-token-value');
  await ok('secrets', 'create', 'api-key', '--replication-policy=automatic', `--data-file=${data}`);
  await ok(
    'secrets',
    'add-iam-policy-binding',
    'api-key',
    '--member=user:collab@example.com',
    '--role=roles/secretmanager.secretAccessor',
  );
  writeFileSync(data, 'api-token-value-2');
  await ok('secrets', 'versions', 'add', 'api-key', `--data-file=${data}`);
  assert.equal((await ok('secrets', 'versions', 'access', 'latest', '--secret=api-key')).trim(), 'api-token-value-2');
  assert.equal((await ok('secrets', 'versions', 'access', '1', '--secret=api-key')).trim(), 'api-token-value');
});
