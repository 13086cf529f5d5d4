// `sealroom iam service-accounts …` lifecycle and key commands, spelled as gcloud spells them, against a live server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type CliTestBed, startCliTestBed } from '../testing.ts';

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);
const ok = (...argv: string[]) => bed.ok(...argv);
const SA = 'worker-sa@life-proj.iam.gserviceaccount.com';

before(async () => {
  bed = await startCliTestBed({ name: 'iam', only: [] });
  await ok('auth', 'login', 'owner@example.com');
  await ok('projects', 'create', 'life-proj');
  await ok('config', 'set', 'project', 'life-proj');
  await ok('iam', 'service-accounts', 'create', 'worker-sa');
});

after(() => bed.close());

const works = async (token: string) => (await bed.server.iam.deps.credentials.inspect(token)) !== undefined;

async function tokenOf(email: string): Promise<string> {
  return (
    await bed.server.iam.deps.credentials.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${email}`,
      lifetimeMs: 600_000,
    })
  ).accessToken;
}

it('disables, enables, deletes and undeletes a service account; its tokens follow at once', async () => {
  const token = await tokenOf(SA);
  await ok('iam', 'service-accounts', 'disable', SA);
  assert.equal(await works(token), false);
  assert.equal(await ok('iam', 'service-accounts', 'describe', SA, '--format=value(disabled)'), 'true\n');
  await ok('iam', 'service-accounts', 'enable', 'worker-sa');
  assert.equal(await works(token), true);
  const uniqueId = (await ok('iam', 'service-accounts', 'describe', SA, '--format=value(uniqueId)')).trim();
  await ok('iam', 'service-accounts', 'delete', SA);
  assert.equal(await works(token), false);
  assert.equal((await cli('iam', 'service-accounts', 'describe', SA)).code, 1);
  const restored = JSON.parse(await ok('iam', 'service-accounts', 'undelete', uniqueId, '--format=json'));
  assert.equal(restored.restoredAccount.email, SA);
  assert.equal(await works(token), true);
  assert.equal((await cli('iam', 'service-accounts', 'undelete', SA)).code, 2, 'undelete takes the unique id');
});

it('lists, disables, enables and deletes keys by id', async () => {
  const file = join(bed.dir, 'key.json');
  await ok('iam', 'service-accounts', 'keys', 'create', file, `--iam-account=${SA}`);
  const keyId = JSON.parse(readFileSync(file, 'utf8')).private_key_id as string;
  const state = async () =>
    JSON.parse(await ok('iam', 'service-accounts', 'keys', 'list', `--iam-account=${SA}`, '--format=json')).map(
      (k: { name: string; disabled: boolean }) => [k.name.split('/').pop(), k.disabled],
    );
  assert.deepEqual(await state(), [[keyId, false]]);
  await ok('iam', 'service-accounts', 'keys', 'disable', keyId, `--iam-account=${SA}`);
  assert.deepEqual(await state(), [[keyId, true]]);
  assert.equal(
    await ok('iam', 'service-accounts', 'keys', 'list', `--iam-account=${SA}`, '--managed-by=system', '--format=json'),
    '[]\n',
  );
  await ok('iam', 'service-accounts', 'keys', 'enable', keyId, `--iam-account=${SA}`);
  assert.deepEqual(await state(), [[keyId, false]]);
  await ok('iam', 'service-accounts', 'keys', 'delete', keyId, `--iam-account=${SA}`);
  assert.deepEqual(await state(), []);
  assert.equal((await cli('iam', 'service-accounts', 'keys', 'delete', keyId, `--iam-account=${SA}`)).code, 1);
  assert.equal((await cli('iam', 'service-accounts', 'keys', 'disable', 'not-a-key', `--iam-account=${SA}`)).code, 2);
});
