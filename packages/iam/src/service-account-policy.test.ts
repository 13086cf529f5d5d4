import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRestApp } from '@sealroom/transport';
import { createIamTestContext } from './testing.ts';

async function setup() {
  const t = await createIamTestContext();
  const app = await buildRestApp({
    routes: t.iam.module.routes,
    authenticator: t.context.authenticator,
    logger: t.logger,
  });
  const alice = await t.createUser('alice@example.com');
  const mallory = await t.createUser('mallory@example.com');
  const a = await t.createProject('tenant-a', 'alice@example.com');
  await t.createProject('tenant-b', 'mallory@example.com');
  const victim = await t.deps.serviceAccounts.create(a, 'victim-sa', '', '');
  const call = async (token: string, url: string, payload: unknown) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${token}` },
      payload: payload as object,
    });
    return { status: res.statusCode, json: res.json() };
  };
  return { t, app, alice, mallory, a, victim, call };
}

test('setIamPolicy on an account named under another tenant’s project is refused and writes nothing anywhere', async () => {
  const s = await setup();
  const foreign = `/v1/projects/tenant-b/serviceAccounts/${s.victim.email}`;
  const policy = {
    bindings: [{ role: 'roles/iam.serviceAccountTokenCreator', members: ['user:mallory@example.com'] }],
  };
  const set = await s.call(s.mallory.accessToken, `${foreign}:setIamPolicy`, { policy });
  assert.equal(set.status, 403);
  assert.equal(
    set.json.error.message,
    `Permission 'iam.serviceAccounts.setIamPolicy' denied on resource 'projects/tenant-b/serviceAccounts/${s.victim.email}' (or it may not exist).`,
  );
  // testIamPermissions reports nothing granted, under either name.
  for (const name of [foreign, `/v1/projects/-/serviceAccounts/${s.victim.email}`]) {
    const tested = await s.call(s.mallory.accessToken, `${name}:testIamPermissions`, {
      permissions: ['iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.setIamPolicy'],
    });
    assert.deepEqual(tested, { status: 200, json: {} }, name);
  }
  const rows = await s.t.context.db.all<{ resource: string }>(
    "SELECT resource FROM iam_policies WHERE resource LIKE '%serviceAccounts%'",
  );
  assert.deepEqual(rows, []);
  const minted = await s.call(
    s.mallory.accessToken,
    `/v1/projects/-/serviceAccounts/${s.victim.email}:generateAccessToken`,
    {
      scope: ['https://www.googleapis.com/auth/cloud-platform'],
    },
  );
  assert.equal(minted.status, 403);
  // Even its own project's owner cannot address the account under a project it is not in.
  const owner = await s.call(
    s.alice.accessToken,
    `/v1/projects/tenant-b/serviceAccounts/${s.victim.email}:getIamPolicy`,
    {},
  );
  assert.equal(owner.status, 403);
  await s.t.close();
});

test('an account’s policy is one policy whether the account is named by email or by unique id', async () => {
  const s = await setup();
  const byId = `/v1/projects/tenant-a/serviceAccounts/${s.victim.uniqueId}`;
  const current = await s.call(s.alice.accessToken, `${byId}:getIamPolicy`, {});
  assert.equal(current.status, 200);
  const set = await s.call(s.alice.accessToken, `${byId}:setIamPolicy`, {
    policy: {
      etag: current.json.etag,
      bindings: [{ role: 'roles/iam.serviceAccountTokenCreator', members: ['user:mallory@example.com'] }],
    },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const viaEmail = await s.call(
    s.alice.accessToken,
    `/v1/projects/-/serviceAccounts/${s.victim.email}:getIamPolicy`,
    {},
  );
  assert.deepEqual(viaEmail.json.bindings, set.json.bindings);
  const minted = await s.call(
    s.mallory.accessToken,
    `/v1/projects/-/serviceAccounts/${s.victim.email}:generateAccessToken`,
    {
      scope: ['https://www.googleapis.com/auth/cloud-platform'],
    },
  );
  assert.equal(minted.status, 200);
  // Under another project, the unique id names nothing: the owner of that project is told it is missing.
  const elsewhere = await s.call(
    s.mallory.accessToken,
    `/v1/projects/tenant-b/serviceAccounts/${s.victim.uniqueId}:getIamPolicy`,
    {},
  );
  assert.equal(elsewhere.status, 404);
  await s.t.close();
});
