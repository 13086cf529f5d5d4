// `sealroom admin …` and `sealroom auth revoke` against a live server: groups, disabled users, revocation, the log.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type CliTestBed, startCliTestBed } from '../testing.ts';

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);
const ok = (...argv: string[]) => bed.ok(...argv);
const as = (account: string, ...argv: string[]) => cli(...argv, `--account=${account}`);

before(async () => {
  bed = await startCliTestBed({ name: 'admin', only: [] });
  await ok('auth', 'login', `--cred-file=${join(bed.server.config.stateDir, 'admin-credential.json')}`);
  await ok('auth', 'login', 'owner@example.com');
  await ok('auth', 'login', 'carol@example.com');
  assert.equal((await as('owner@example.com', 'projects', 'create', 'team-proj')).code, 0);
});

after(() => bed.close());

it('an administrator’s group decides what a group: binding grants, and each change is in the deployment log', async () => {
  const admin = 'admin@sealroom.internal';
  await as(
    'owner@example.com',
    'projects',
    'add-iam-policy-binding',
    'team-proj',
    '--member=group:team@example.com',
    '--role=roles/viewer',
  );
  assert.equal((await as('carol@example.com', 'projects', 'describe', 'team-proj')).code, 1);
  assert.equal((await as(admin, 'admin', 'groups', 'create', 'team@example.com', '--display-name=Team')).code, 0);
  const added = await as(
    admin,
    'admin',
    'groups',
    'add-member',
    'team@example.com',
    '--member=user:carol@example.com',
    '--format=json',
  );
  assert.deepEqual(JSON.parse(added.stdout).members, ['user:carol@example.com']);
  assert.equal((await as('carol@example.com', 'projects', 'describe', 'team-proj')).code, 0);
  const listed = JSON.parse((await as(admin, 'admin', 'groups', 'list', '--format=json')).stdout);
  assert.deepEqual(
    listed.map((g: { email: string }) => g.email),
    ['team@example.com'],
  );
  assert.equal(
    (await as(admin, 'admin', 'groups', 'remove-member', 'team@example.com', '--member=user:carol@example.com')).code,
    0,
  );
  assert.equal((await as('carol@example.com', 'projects', 'describe', 'team-proj')).code, 1);
  assert.equal((await as(admin, 'admin', 'groups', 'delete', 'team@example.com')).code, 0);
  assert.equal((await as(admin, 'admin', 'groups', 'describe', 'team@example.com')).code, 1);

  const refused = await as('owner@example.com', 'admin', 'groups', 'create', 'mine@example.com');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Only deployment administrators can do this/);
  const log = JSON.parse((await as(admin, 'admin', 'logs', 'read', '--format=json')).stdout);
  const methods = log.map((e: { protoPayload: { methodName: string } }) => e.protoPayload.methodName.split('.').pop());
  assert.deepEqual(methods.slice(-4), ['CreateGroup', 'AddGroupMember', 'RemoveGroupMember', 'DeleteGroup']);
  assert.equal(JSON.parse((await as(admin, 'admin', 'logs', 'verify', '--format=json')).stdout).ok, true);
});

it('a disabled user is refused at once, with the token it already holds, until an administrator enables it', async () => {
  const admin = 'admin@sealroom.internal';
  assert.equal((await as('carol@example.com', 'projects', 'list')).code, 0);
  const disabled = await as(admin, 'admin', 'users', 'disable', 'carol@example.com', '--format=json');
  assert.deepEqual(JSON.parse(disabled.stdout), { email: 'carol@example.com', disabled: true });
  const refused = await as('carol@example.com', 'projects', 'list');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /401|UNAUTHENTICATED/);
  const users = JSON.parse((await as(admin, 'admin', 'users', 'list', '--format=json')).stdout);
  assert.equal(users.find((u: { email: string }) => u.email === 'carol@example.com').disabled, true);
  assert.equal((await as(admin, 'admin', 'users', 'enable', 'carol@example.com')).code, 0);
  assert.equal((await as('carol@example.com', 'projects', 'list')).code, 0);
});

it('auth revoke revokes the credential at the server, forgets it here, and unsets it when active', async () => {
  await ok('auth', 'login', 'dana@example.com');
  const token = (await ok('auth', 'print-access-token')).trim();
  assert.ok(await bed.server.iam.deps.credentials.inspect(token));
  const revoked = await cli('auth', 'revoke');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stderr, /Revoked credentials:\n - dana@example.com/);
  assert.equal(await bed.server.iam.deps.credentials.inspect(token), undefined, 'the access token stops at once');
  const accounts = JSON.parse(await ok('auth', 'list', '--format=json')).map((a: { account: string }) => a.account);
  assert.equal(accounts.includes('dana@example.com'), false);
  const after = await cli('projects', 'list');
  assert.equal(after.code, 2);
  assert.match(after.stderr, /do not currently have an active account/);
  assert.equal((await cli('auth', 'revoke', 'nobody@example.com')).code, 2);
});
