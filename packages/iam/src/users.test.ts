import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRestApp } from '@sealroom/transport';
import { DEPLOYMENT_LOG } from './audit.ts';
import { createIamTestContext } from './testing.ts';

async function setup() {
  const t = await createIamTestContext({ dev: false });
  const app = await buildRestApp({
    routes: t.iam.module.routes,
    authenticator: t.context.authenticator,
    logger: t.logger,
  });
  await t.deps.credentials.ensureUser('admin@example.com', 'bootstrap', true);
  const admin = await t.createUser('admin@example.com');
  const call = async (token: string | undefined, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : {} };
  };
  const refresh = (refreshToken: string) =>
    call(undefined, 'POST', '/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
  const works = async (token: string) => {
    try {
      await t.context.authenticator.authenticate(token);
      return true;
    } catch {
      return false;
    }
  };
  const deploymentLog = async () =>
    (await t.deps.audit.list(DEPLOYMENT_LOG, { pageSize: 100 })).map((e) => {
      const p = e.body.protoPayload as { methodName: string; resourceName: string };
      return `${p.methodName} ${p.resourceName}`;
    });
  return { t, app, admin, call, refresh, works, deploymentLog };
}

test('an administrator disables a user: its access tokens stop at once and its refresh tokens are refused until enabled', async () => {
  const s = await setup();
  const issued = await s.call(s.admin.accessToken, 'POST', '/v1/admin/users', { email: 'Carol@Example.com' });
  assert.equal(issued.status, 200);
  const session = await s.refresh(issued.json.refreshToken);
  assert.equal(session.status, 200);
  const token = session.json.access_token as string;
  assert.equal(await s.works(token), true);

  const disabled = await s.call(s.admin.accessToken, 'POST', '/v1/admin/users/carol@example.com:disable', {});
  assert.deepEqual(disabled, { status: 200, json: { email: 'carol@example.com', disabled: true } });
  assert.equal(await s.works(token), false);
  assert.deepEqual((await s.refresh(issued.json.refreshToken)).json, {
    error: 'invalid_grant',
    error_description: 'Token has been expired or revoked.',
  });
  const again = await s.call(s.admin.accessToken, 'POST', '/v1/admin/users', { email: 'carol@example.com' });
  assert.equal(again.status, 400, 'a disabled user gets no new credential');
  const listed = await s.call(s.admin.accessToken, 'GET', '/v1/admin/users');
  assert.equal(listed.json.users.find((u: { email: string }) => u.email === 'carol@example.com').disabled, true);

  assert.equal((await s.call(s.admin.accessToken, 'POST', '/v1/admin/users/carol@example.com:enable', {})).status, 200);
  assert.equal((await s.refresh(issued.json.refreshToken)).status, 200);
  assert.deepEqual(await s.deploymentLog(), [
    'sealroom.admin.v1.Admin.IssueUserCredential users/carol@example.com',
    'sealroom.admin.v1.Admin.DisableUser users/carol@example.com',
    'sealroom.admin.v1.Admin.EnableUser users/carol@example.com',
  ]);
  await s.t.close();
});

test('only administrators manage users, with one refusal whatever the request names; none can disable itself', async () => {
  const s = await setup();
  const bob = await s.t.createUser('bob@example.com');
  for (const [method, url, payload] of [
    ['POST', '/v1/admin/users', { email: 'x@example.com' }],
    ['GET', '/v1/admin/users', undefined],
    ['POST', '/v1/admin/users/admin@example.com:disable', {}],
    ['POST', '/v1/admin/users/nobody@example.com:disable', {}],
    ['POST', '/v1/admin/users/bob@example.com:enable', {}],
  ] as const) {
    const res = await s.call(bob.accessToken, method, url, payload);
    assert.equal(res.status, 403, url);
    assert.equal(res.json.error.message, 'Only deployment administrators can do this.');
  }
  const self = await s.call(s.admin.accessToken, 'POST', '/v1/admin/users/admin@example.com:disable', {});
  assert.equal(self.status, 400);
  assert.equal(
    (await s.call(s.admin.accessToken, 'POST', '/v1/admin/users/nobody@example.com:disable', {})).status,
    404,
  );
  assert.equal(await s.works(s.admin.accessToken), true);
  await s.t.close();
});

test('revoking a refresh token ends the access tokens obtained with it, and only those; an access token can be revoked alone', async () => {
  const s = await setup();
  await s.t.deps.credentials.ensureUser('dana@example.com', 'admin');
  const laptop = await s.t.deps.credentials.issueRefreshToken('dana@example.com');
  const desktop = await s.t.deps.credentials.issueRefreshToken('dana@example.com');
  const fromLaptop = (await s.refresh(laptop)).json.access_token as string;
  const fromDesktop = (await s.refresh(desktop)).json.access_token as string;

  const revoked = await s.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${encodeURIComponent(laptop)}`,
  });
  assert.equal(revoked.statusCode, 200);
  assert.equal(await s.works(fromLaptop), false);
  assert.equal((await s.refresh(laptop)).json.error, 'invalid_grant');
  assert.equal(await s.works(fromDesktop), true);

  // google-auth-library's revokeToken() sends GET ?token=.
  const byGet = await s.app.inject({ method: 'GET', url: `/revoke?token=${encodeURIComponent(fromDesktop)}` });
  assert.equal(byGet.statusCode, 200);
  assert.equal(await s.works(fromDesktop), false);
  assert.equal((await s.refresh(desktop)).status, 200, 'revoking an access token leaves its refresh token');

  for (const token of [laptop, 'srr1.unknown', '']) {
    const res = await s.app.inject({ method: 'POST', url: '/revoke', payload: { token } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'invalid_token');
  }
  assert.deepEqual(await s.deploymentLog(), [
    'google.identity.oauth2.RevokeToken users/dana@example.com',
    'google.identity.oauth2.RevokeToken users/dana@example.com',
  ]);
  assert.equal(JSON.stringify(s.t.logger.entries).includes(laptop), false);
  await s.t.close();
});
