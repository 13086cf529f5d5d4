import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { buildRestApp } from '@sealroom/transport';
import { SignJWT } from 'jose';
const TOKEN_AUDIENCE = 'http://127.0.0.1:8080/token';
import { createIamTestContext } from './testing.ts';

const SCOPE = ['https://www.googleapis.com/auth/cloud-platform'];

async function setup() {
  const t = await createIamTestContext();
  const app = await buildRestApp({
    routes: t.iam.module.routes,
    authenticator: t.context.authenticator,
    logger: t.logger,
  });
  const owner = await t.createUser('owner@example.com');
  const bob = await t.createUser('bob@example.com');
  const project = await t.createProject('life-proj', 'owner@example.com');
  const call = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : {} };
  };
  const created = await call(owner.accessToken, 'POST', '/v1/projects/life-proj/serviceAccounts', {
    accountId: 'worker',
  });
  const email = created.json.email as string;
  const uniqueId = created.json.uniqueId as string;
  const saPath = `/v1/projects/-/serviceAccounts/${email}`;
  await t.grant(
    `projects/life-proj/serviceAccounts/${email}`,
    'roles/iam.serviceAccountTokenCreator',
    'user:bob@example.com',
  );
  const newKey = async () => {
    const res = await call(owner.accessToken, 'POST', `${saPath}/keys`, {});
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const file = JSON.parse(Buffer.from(res.json.privateKeyData, 'base64').toString('utf8'));
    return {
      keyId: file.private_key_id as string,
      key: createPrivateKey(file.private_key as string),
      name: res.json.name as string,
    };
  };
  const now = () => Math.floor(Date.now() / 1000);
  const grantWith = async (k: { keyId: string; key: ReturnType<typeof createPrivateKey> }) => {
    const assertion = await new SignJWT({ iss: email, aud: TOKEN_AUDIENCE, iat: now(), exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: k.keyId })
      .sign(k.key);
    const res = await app.inject({
      method: 'POST',
      url: '/token',
      payload: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
    });
    return { status: res.statusCode, json: res.json() };
  };
  const selfSigned = (k: { keyId: string; key: ReturnType<typeof createPrivateKey> }) =>
    new SignJWT({ iss: email, sub: email, aud: 'https://cloudkms.googleapis.com/', iat: now(), exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: k.keyId })
      .sign(k.key);
  const works = async (token: string) => {
    try {
      await t.context.authenticator.authenticate(token);
      return true;
    } catch {
      return false;
    }
  };
  const mint = async () => {
    const res = await call(bob.accessToken, 'POST', `${saPath}:generateAccessToken`, { scope: SCOPE });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.accessToken as string;
  };
  const methods = async () =>
    (await t.deps.audit.list(project.projectNumber, { pageSize: 500 })).map(
      (e) => (e.body.protoPayload as { methodName: string }).methodName,
    );
  return {
    t,
    app,
    owner,
    bob,
    project,
    call,
    email,
    uniqueId,
    saPath,
    newKey,
    grantWith,
    selfSigned,
    works,
    mint,
    methods,
  };
}

test('disabling a service account stops every credential it holds at once; enabling gives them back', async () => {
  const s = await setup();
  const key = await s.newKey();
  const minted = await s.mint();
  const granted = await s.grantWith(key);
  assert.equal(granted.status, 200);
  const jwt = await s.selfSigned(key);
  for (const token of [minted, granted.json.access_token, jwt]) assert.equal(await s.works(token), true);

  assert.deepEqual(await s.call(s.owner.accessToken, 'POST', `${s.saPath}:disable`, {}), { status: 200, json: {} });
  for (const token of [minted, granted.json.access_token, jwt]) assert.equal(await s.works(token), false);
  assert.equal((await s.call(s.owner.accessToken, 'GET', s.saPath)).json.disabled, true);
  const refused = await s.call(s.bob.accessToken, 'POST', `${s.saPath}:generateAccessToken`, { scope: SCOPE });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error.status, 'FAILED_PRECONDITION');
  assert.equal((await s.grantWith(key)).json.error, 'invalid_grant');

  assert.equal((await s.call(s.owner.accessToken, 'POST', `${s.saPath}:enable`, {})).status, 200);
  for (const token of [minted, granted.json.access_token, jwt]) assert.equal(await s.works(token), true);
  const audit = await s.methods();
  assert.ok(audit.includes('google.iam.admin.v1.IAM.DisableServiceAccount'));
  assert.ok(audit.includes('google.iam.admin.v1.IAM.EnableServiceAccount'));
  await s.t.close();
});

test('a caller without permission cannot disable, enable or delete an account, and learns nothing of its existence', async () => {
  const s = await setup();
  const minted = await s.mint();
  for (const [method, suffix] of [
    ['POST', ':disable'],
    ['POST', ':enable'],
    ['DELETE', ''],
  ] as const) {
    const existing = await s.call(
      s.bob.accessToken,
      method,
      `${s.saPath}${suffix}`,
      method === 'POST' ? {} : undefined,
    );
    const missing = await s.call(
      s.bob.accessToken,
      method,
      `/v1/projects/-/serviceAccounts/nobody@life-proj.iam.gserviceaccount.com${suffix}`,
      method === 'POST' ? {} : undefined,
    );
    assert.equal(existing.status, 403);
    assert.equal(
      JSON.stringify(existing.json).replaceAll(s.email, 'X'),
      JSON.stringify(missing.json).replaceAll('nobody@life-proj.iam.gserviceaccount.com', 'X'),
    );
  }
  assert.equal(await s.works(minted), true);
  await s.t.close();
});

test('deleting an account stops its tokens and marks its bindings deleted; undelete restores both', async () => {
  const s = await setup();
  await s.t.grant('projects/life-proj', 'roles/viewer', `serviceAccount:${s.email}`);
  const minted = await s.mint();
  assert.deepEqual(await s.call(s.owner.accessToken, 'DELETE', s.saPath), { status: 200, json: {} });
  assert.equal(await s.works(minted), false);
  assert.equal((await s.call(s.owner.accessToken, 'GET', s.saPath)).status, 404);
  const policy = await s.call(s.owner.accessToken, 'POST', '/v1/projects/life-proj:getIamPolicy', {});
  const viewer = policy.json.bindings.find((b: { role: string }) => b.role === 'roles/viewer');
  assert.deepEqual(viewer.members, [`deleted:serviceAccount:${s.email}?uid=${s.uniqueId}`]);
  // The policy still round-trips through setIamPolicy with the deleted member in it.
  assert.equal(
    (await s.call(s.owner.accessToken, 'POST', '/v1/projects/life-proj:setIamPolicy', { policy: policy.json })).status,
    200,
  );

  const byEmail = await s.call(s.owner.accessToken, 'POST', `${s.saPath}:undelete`, {});
  assert.equal(byEmail.status, 400, 'undelete takes the unique id');
  const restored = await s.call(
    s.owner.accessToken,
    'POST',
    `/v1/projects/life-proj/serviceAccounts/${s.uniqueId}:undelete`,
    {},
  );
  assert.equal(restored.status, 200, JSON.stringify(restored.json));
  assert.equal(restored.json.restoredAccount.email, s.email);
  const after = await s.call(s.owner.accessToken, 'POST', '/v1/projects/life-proj:getIamPolicy', {});
  assert.deepEqual(after.json.bindings.find((b: { role: string }) => b.role === 'roles/viewer').members, [
    `serviceAccount:${s.email}`,
  ]);
  assert.equal(await s.works(minted), true);
  const again = await s.call(
    s.owner.accessToken,
    'POST',
    `/v1/projects/life-proj/serviceAccounts/${s.uniqueId}:undelete`,
    {},
  );
  assert.equal(again.status, 400);
  const audit = await s.methods();
  assert.ok(audit.includes('google.iam.admin.v1.IAM.DeleteServiceAccount'));
  assert.ok(audit.includes('google.iam.admin.v1.IAM.UndeleteServiceAccount'));
  await s.t.close();
});

test('an account created again under a deleted one’s email inherits none of its grants, and the old one is gone', async () => {
  const s = await setup();
  await s.t.grant('projects/life-proj', 'roles/viewer', `serviceAccount:${s.email}`);
  assert.equal((await s.call(s.owner.accessToken, 'DELETE', s.saPath)).status, 200);
  const recreated = await s.call(s.owner.accessToken, 'POST', '/v1/projects/life-proj/serviceAccounts', {
    accountId: 'worker',
  });
  assert.equal(recreated.status, 200);
  assert.notEqual(recreated.json.uniqueId, s.uniqueId);
  // Bob's Token Creator grant on the old account does not carry over.
  assert.equal(
    (await s.call(s.bob.accessToken, 'POST', `${s.saPath}:generateAccessToken`, { scope: SCOPE })).status,
    403,
  );
  await s.t.grant(
    `projects/life-proj/serviceAccounts/${s.email}`,
    'roles/iam.serviceAccountTokenCreator',
    'user:bob@example.com',
  );
  const fresh = await s.t.context.authenticator.authenticate(await s.mint());
  assert.equal(
    await s.t.context.authorizer.isAllowed(fresh, 'resourcemanager.projects.get', 'projects/life-proj'),
    false,
  );
  const old = await s.call(
    s.owner.accessToken,
    'POST',
    `/v1/projects/life-proj/serviceAccounts/${s.uniqueId}:undelete`,
    {},
  );
  assert.equal(old.status, 404);
  await s.t.close();
});

test('keys are listed with their state; a disabled or deleted key stops its grants and the tokens obtained with it', async () => {
  const s = await setup();
  const one = await s.newKey();
  const two = await s.newKey();
  const listed = await s.call(s.owner.accessToken, 'GET', `${s.saPath}/keys`);
  assert.deepEqual(
    listed.json.keys.map((k: { name: string }) => k.name.split('/').pop()).sort(),
    [one.keyId, two.keyId].sort(),
  );
  assert.ok(listed.json.keys.every((k: { disabled?: boolean }) => k.disabled === undefined));
  const fromOne = (await s.grantWith(one)).json.access_token as string;
  const fromTwo = (await s.grantWith(two)).json.access_token as string;
  const keyPath = `/v1/${one.name}`;
  assert.deepEqual(await s.call(s.owner.accessToken, 'POST', `${keyPath}:disable`, {}), { status: 200, json: {} });
  assert.equal(await s.works(fromOne), false);
  assert.equal(await s.works(fromTwo), true);
  assert.equal((await s.grantWith(one)).json.error, 'invalid_grant');
  assert.equal(await s.works(await s.selfSigned(one)), false);
  assert.equal((await s.call(s.owner.accessToken, 'GET', keyPath)).json.disabled, true);
  const states = (await s.call(s.owner.accessToken, 'GET', `${s.saPath}/keys`)).json.keys.map(
    (k: { name: string; disabled?: boolean }) => [k.name.split('/').pop(), k.disabled === true],
  );
  assert.deepEqual(
    new Map(states),
    new Map([
      [one.keyId, true],
      [two.keyId, false],
    ]),
  );

  assert.equal((await s.call(s.owner.accessToken, 'POST', `${keyPath}:enable`, {})).status, 200);
  assert.equal(await s.works(fromOne), true);
  assert.deepEqual(await s.call(s.owner.accessToken, 'DELETE', keyPath), { status: 200, json: {} });
  assert.equal(await s.works(fromOne), false);
  assert.equal((await s.call(s.owner.accessToken, 'GET', keyPath)).status, 404);
  assert.equal((await s.call(s.owner.accessToken, 'GET', `${s.saPath}/keys`)).json.keys.length, 1);
  const denied = await s.call(s.bob.accessToken, 'POST', `/v1/${two.name}:disable`, {});
  assert.equal(denied.status, 403);
  assert.equal(await s.works(fromTwo), true);
  const audit = await s.methods();
  for (const m of ['DisableServiceAccountKey', 'EnableServiceAccountKey', 'DeleteServiceAccountKey']) {
    assert.ok(audit.includes(`google.iam.admin.v1.IAM.${m}`), m);
  }
  await s.t.close();
});

test('an account holds at most ten keys', async () => {
  const s = await setup();
  for (let n = 0; n < 10; n++) await s.newKey();
  const eleventh = await s.call(s.owner.accessToken, 'POST', `${s.saPath}/keys`, {});
  assert.equal(eleventh.status, 400);
  assert.equal(eleventh.json.error.status, 'FAILED_PRECONDITION');
  await s.t.close();
});

test('a federated workload that impersonated an account loses that token when the account is disabled', async () => {
  const s = await setup();
  const pool = `projects/${s.project.projectNumber}/locations/global/workloadIdentityPools/work-pool`;
  const principal = `principal://iam.googleapis.com/${pool}/subject/instance-1`;
  await s.t.grant(`projects/life-proj/serviceAccounts/${s.email}`, 'roles/iam.workloadIdentityUser', principal);
  const federated = await s.t.deps.credentials.issueAccessToken({
    kind: 'federated',
    principal,
    federation: { pool, subject: 'instance-1', attributes: {}, groups: [] },
    lifetimeMs: 600_000,
  });
  const impersonated = await s.call(federated.accessToken, 'POST', `${s.saPath}:generateAccessToken`, { scope: SCOPE });
  assert.equal(impersonated.status, 200);
  assert.equal(await s.works(impersonated.json.accessToken), true);
  await s.call(s.owner.accessToken, 'POST', `${s.saPath}:disable`, {});
  assert.equal(await s.works(impersonated.json.accessToken), false);
  await s.t.close();
});
