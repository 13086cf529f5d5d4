import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Caller } from '@sealroom/core';
import { buildRestApp } from '@sealroom/transport';
import { DEPLOYMENT_LOG } from './audit.ts';
import { createIamTestContext } from './testing.ts';

async function setup() {
  const t = await createIamTestContext();
  const app = await buildRestApp({
    routes: t.iam.module.routes,
    authenticator: t.context.authenticator,
    logger: t.logger,
  });
  await t.deps.credentials.ensureUser('admin@example.com', 'bootstrap', true);
  const admin = await t.createUser('admin@example.com');
  const call = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : {} };
  };
  return { t, app, admin, call };
}

test('a group: binding grants the users and service accounts the administrator put in the group, and no one else', async () => {
  const s = await setup();
  const project = await s.t.createProject('team-proj', 'owner@example.com');
  const carol = await s.t.createUser('carol@example.com');
  const dave = await s.t.createUser('dave@example.com');
  const account = await s.t.deps.serviceAccounts.create(project, 'team-robot', '', '');
  const robot = await s.t.context.authenticator.authenticate(
    (
      await s.t.deps.credentials.issueAccessToken({
        kind: 'serviceAccount',
        principal: `serviceAccount:${account.email}`,
        lifetimeMs: 600_000,
      })
    ).accessToken,
  );
  await s.t.grant('projects/team-proj', 'roles/viewer', 'group:Team@Example.com');
  const canView = (caller: Caller) =>
    s.t.context.authorizer.isAllowed(caller, 'resourcemanager.projects.get', 'projects/team-proj');
  assert.equal(await canView(carol.caller), false, 'a group nobody created grants nothing');

  const created = await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups', {
    email: 'team@example.com',
    displayName: 'Team',
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  for (const member of ['user:carol@example.com', `serviceAccount:${account.email}`]) {
    const added = await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups/team@example.com:addMember', { member });
    assert.equal(added.status, 200, JSON.stringify(added.json));
  }
  assert.equal(await canView(carol.caller), true);
  assert.equal(await canView(robot), true);
  assert.equal(await canView(dave.caller), false);
  const viewed = await s.call(carol.accessToken, 'GET', '/v1/projects/team-proj');
  assert.equal(viewed.status, 200);

  // Membership is read on every decision: removal and deletion take effect at once.
  await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups/team@example.com:removeMember', {
    member: 'user:carol@example.com',
  });
  assert.equal(await canView(carol.caller), false);
  assert.equal(await canView(robot), true);
  assert.equal((await s.call(s.admin.accessToken, 'DELETE', '/v1/admin/groups/team@example.com')).status, 200);
  assert.equal(await canView(robot), false);

  const log = (await s.t.deps.audit.list(DEPLOYMENT_LOG, { pageSize: 100 })).map(
    (e) => (e.body.protoPayload as { methodName: string }).methodName,
  );
  assert.deepEqual(log, [
    'sealroom.admin.v1.Admin.CreateGroup',
    'sealroom.admin.v1.Admin.AddGroupMember',
    'sealroom.admin.v1.Admin.AddGroupMember',
    'sealroom.admin.v1.Admin.RemoveGroupMember',
    'sealroom.admin.v1.Admin.DeleteGroup',
  ]);
  await s.t.close();
});

test('a federated caller’s mapped google.groups never satisfy a group: member, only principalSet groups of its own pool', async () => {
  const s = await setup();
  const a = await s.t.createProject('tenant-a', 'alice@example.com');
  const b = await s.t.createProject('tenant-b', 'mallory@example.com');
  const poolOf = (n: string, p: string) => `projects/${n}/locations/global/workloadIdentityPools/${p}`;
  await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups', { email: 'kmsusers@a.example' });
  await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups/kmsusers@a.example:addMember', {
    member: 'user:alice@example.com',
  });
  await s.t.grant('projects/tenant-a', 'roles/viewer', 'group:kmsusers@a.example');
  await s.t.grant(
    'projects/tenant-a',
    'roles/logging.viewer',
    `principalSet://iam.googleapis.com/${poolOf(a.projectNumber, 'a-pool')}/group/kmsusers@a.example`,
  );
  const federated = async (pool: string) => {
    const principal = `principal://iam.googleapis.com/${pool}/subject/forged`;
    const issued = await s.t.deps.credentials.issueAccessToken({
      kind: 'federated',
      principal,
      federation: { pool, subject: 'forged', attributes: {}, groups: ['kmsusers@a.example'] },
      lifetimeMs: 600_000,
    });
    return s.t.context.authenticator.authenticate(issued.accessToken);
  };
  const attacker = await federated(poolOf(b.projectNumber, 'b-pool'));
  const insider = await federated(poolOf(a.projectNumber, 'a-pool'));
  const allowed = (caller: Caller, permission: string) =>
    s.t.context.authorizer.isAllowed(caller, permission, 'projects/tenant-a');
  assert.equal(await allowed(attacker, 'resourcemanager.projects.get'), false);
  assert.equal(await allowed(insider, 'resourcemanager.projects.get'), false, 'group: is not principalSet …/group/');
  assert.equal(await allowed(insider, 'logging.logEntries.list'), true);
  assert.equal(await allowed(attacker, 'logging.logEntries.list'), false, 'another pool’s group is another group');
  assert.equal(await allowed((await s.t.createUser('alice@example.com')).caller, 'resourcemanager.projects.get'), true);
  await s.t.close();
});

test('groups are administered by administrators only; members are users or service accounts', async () => {
  const s = await setup();
  const bob = await s.t.createUser('bob@example.com');
  await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups', { email: 'ops@example.com' });
  for (const [method, url, payload] of [
    ['POST', '/v1/admin/groups', { email: 'mine@example.com' }],
    ['GET', '/v1/admin/groups', undefined],
    ['GET', '/v1/admin/groups/ops@example.com', undefined],
    ['GET', '/v1/admin/groups/missing@example.com', undefined],
    ['DELETE', '/v1/admin/groups/ops@example.com', undefined],
    ['POST', '/v1/admin/groups/ops@example.com:addMember', { member: 'user:bob@example.com' }],
    ['POST', '/v1/admin/groups/missing@example.com:addMember', { member: 'user:bob@example.com' }],
    ['POST', '/v1/admin/logs:list', {}],
    ['GET', '/v1/admin/logs:verify', undefined],
  ] as const) {
    const res = await s.call(bob.accessToken, method, url, payload);
    assert.equal(res.status, 403, url);
    assert.equal(res.json.error.message, 'Only deployment administrators can do this.');
  }
  for (const member of [
    'group:other@example.com',
    'domain:example.com',
    'allUsers',
    'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool1/subject/s',
    'bob@example.com',
  ]) {
    const res = await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups/ops@example.com:addMember', { member });
    assert.equal(res.status, 400, member);
  }
  assert.equal(
    (await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups', { email: 'OPS@example.com' })).status,
    409,
  );
  assert.equal(
    (
      await s.call(s.admin.accessToken, 'POST', '/v1/admin/groups/nope@example.com:addMember', {
        member: 'user:a@b.co',
      })
    ).status,
    404,
  );
  const listed = await s.call(s.admin.accessToken, 'GET', '/v1/admin/groups');
  assert.deepEqual(
    listed.json.groups.map((g: { email: string; members: string[] }) => [g.email, g.members]),
    [['ops@example.com', []]],
  );
  assert.deepEqual(await s.call(s.admin.accessToken, 'GET', '/v1/admin/logs:verify'), {
    status: 200,
    json: { ok: true, entries: 1 },
  });
  await s.t.close();
});
