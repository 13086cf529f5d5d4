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
  const bob = await t.createUser('bob@example.com');
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  return { t, app, alice, bob, as };
}

test('a user creates a project, becomes its owner, and another user can neither read nor change its policy', async () => {
  const { t, app, alice, bob, as } = await setup();
  const created = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'alice-proj' },
  });
  assert.equal(created.statusCode, 200, created.body);
  const project = created.json().response;
  assert.match(project.projectNumber, /^[1-9]\d{11}$/);
  const byNumber = await app.inject({
    method: 'GET',
    url: `/v1/projects/${project.projectNumber}`,
    headers: as(alice.accessToken),
  });
  assert.equal(byNumber.json().projectId, 'alice-proj');
  const policy = await app.inject({
    method: 'POST',
    url: '/v1/projects/alice-proj:getIamPolicy',
    headers: as(alice.accessToken),
    payload: '""',
  });
  assert.deepEqual(policy.json().bindings, [{ role: 'roles/owner', members: ['user:alice@example.com'] }]);
  for (const [url, payload] of [
    ['/v1/projects/alice-proj:getIamPolicy', {}],
    ['/v1/projects/alice-proj:setIamPolicy', { policy: { bindings: [] } }],
  ] as const) {
    const res = await app.inject({ method: 'POST', url, headers: as(bob.accessToken), payload });
    assert.equal(res.statusCode, 403, url);
    assert.match(res.json().error.message, /\(or it may not exist\)/);
  }
  const missing = await app.inject({
    method: 'POST',
    url: '/v1/projects/nobody-proj:getIamPolicy',
    headers: as(bob.accessToken),
  });
  assert.equal(missing.statusCode, 403);
  assert.equal(
    missing.json().error.message,
    "Permission 'resourcemanager.projects.getIamPolicy' denied on resource 'projects/nobody-proj' (or it may not exist).",
  );
  await t.close();
});

test('setIamPolicy with a stale etag gets 409 ABORTED and writes nothing', async () => {
  const { t, app, alice, as } = await setup();
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'etag-proj' },
  });
  const first = (
    await app.inject({ method: 'GET', url: '/v1/projects/etag-proj:getIamPolicy', headers: as(alice.accessToken) })
  ).json();
  const bindings = [...first.bindings, { role: 'roles/viewer', members: ['user:bob@example.com'] }];
  const ok = await app.inject({
    method: 'POST',
    url: '/v1/projects/etag-proj:setIamPolicy',
    headers: as(alice.accessToken),
    payload: { policy: { bindings, etag: first.etag } },
  });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.notEqual(ok.json().etag, first.etag);
  const stale = await app.inject({
    method: 'POST',
    url: '/v1/projects/etag-proj:setIamPolicy',
    headers: as(alice.accessToken),
    payload: { policy: { bindings: first.bindings, etag: first.etag } },
  });
  assert.equal(stale.statusCode, 409);
  assert.equal(stale.json().error.status, 'ABORTED');
  const after = (
    await app.inject({ method: 'GET', url: '/v1/projects/etag-proj:getIamPolicy', headers: as(alice.accessToken) })
  ).json();
  assert.equal(after.etag, ok.json().etag);
  await t.close();
});

test('setIamPolicy compares etags by their bytes: the URL-safe alphabet gcloud sends back is accepted', async () => {
  const { t, app, alice, as } = await setup();
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'etag-url' },
  });
  // Every setIamPolicy draws a random etag; write until one holds a character the two alphabets spell differently.
  let current = '';
  for (let i = 0; i < 200 && !/[+/]/.test(current); i++) {
    const got = (
      await app.inject({ method: 'GET', url: '/v1/projects/etag-url:getIamPolicy', headers: as(alice.accessToken) })
    ).json();
    const set = await app.inject({
      method: 'POST',
      url: '/v1/projects/etag-url:setIamPolicy',
      headers: as(alice.accessToken),
      payload: { policy: { bindings: got.bindings, etag: got.etag } },
    });
    assert.equal(set.statusCode, 200, set.body);
    current = set.json().etag;
  }
  assert.match(current, /[+/]/);
  const urlSafe = Buffer.from(current, 'base64').toString('base64url');
  const policy = (
    await app.inject({ method: 'GET', url: '/v1/projects/etag-url:getIamPolicy', headers: as(alice.accessToken) })
  ).json();
  const ok = await app.inject({
    method: 'POST',
    url: '/v1/projects/etag-url:setIamPolicy',
    headers: as(alice.accessToken),
    payload: { policy: { bindings: policy.bindings, etag: `${urlSafe}=` } },
  });
  assert.equal(ok.statusCode, 200, ok.body);
  const stale = await app.inject({
    method: 'POST',
    url: '/v1/projects/etag-url:setIamPolicy',
    headers: as(alice.accessToken),
    payload: { policy: { bindings: policy.bindings, etag: urlSafe } },
  });
  assert.equal(stale.statusCode, 409, 'the same bytes, once used, are stale in either alphabet');
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/projects/etag-url:setIamPolicy',
    headers: as(alice.accessToken),
    payload: { policy: { bindings: policy.bindings, etag: 'not base64!' } },
  });
  assert.equal(bad.statusCode, 400);
  await t.close();
});

test('services enable one at a time (as gcloud does for one service) or in a batch, and list what is enabled', async () => {
  const { t, app, alice, bob, as } = await setup();
  const created = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'svc-proj' },
  });
  // gcloud projects create polls the operation it was given, done or not.
  const operation = await app.inject({
    method: 'GET',
    url: `/v1/${created.json().name}`,
    headers: as(alice.accessToken),
  });
  assert.equal(operation.statusCode, 200, operation.body);
  assert.equal(operation.json().done, true);
  assert.equal(operation.json().response.projectId, 'svc-proj');
  const hidden = await app.inject({ method: 'GET', url: `/v1/${created.json().name}`, headers: as(bob.accessToken) });
  assert.equal(hidden.statusCode, 403);
  const unknown = await app.inject({ method: 'GET', url: '/v1/operations/cp.nothing', headers: as(alice.accessToken) });
  assert.equal(unknown.statusCode, 404);
  const one = await app.inject({
    method: 'POST',
    url: '/v1/projects/svc-proj/services/cloudkms.googleapis.com:enable',
    headers: as(alice.accessToken),
  });
  assert.equal(one.statusCode, 200, one.body);
  assert.equal(one.json().done, true);
  assert.equal(one.json().response.service.state, 'ENABLED');
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/projects/svc-proj/services:batchEnable',
    headers: as(alice.accessToken),
    payload: { serviceIds: ['pubsub.googleapis.com'] },
  });
  assert.equal(batch.statusCode, 200, batch.body);
  const list = await app.inject({
    method: 'GET',
    url: '/v1/projects/svc-proj/services',
    headers: as(alice.accessToken),
  });
  assert.deepEqual(
    list.json().services.map((s: { config: { name: string } }) => s.config.name),
    ['cloudkms.googleapis.com', 'pubsub.googleapis.com'],
  );
  const denied = await app.inject({
    method: 'POST',
    url: '/v1/projects/svc-proj/services/iam.googleapis.com:enable',
    headers: as(bob.accessToken),
  });
  assert.equal(denied.statusCode, 403);
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/projects/svc-proj/services/NOT_A_SERVICE:enable',
    headers: as(alice.accessToken),
  });
  assert.equal(bad.statusCode, 400);
  await t.close();
});

test('bad policies are refused precisely: unknown role, malformed member, conditions without v3, unknown field', async () => {
  const { t, app, alice, as } = await setup();
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'bad-proj' },
  });
  const cases: [unknown, RegExp][] = [
    [
      { policy: { bindings: [{ role: 'roles/nope', members: ['user:a@b.com'] }] } },
      /Role roles\/nope is not supported/,
    ],
    [{ policy: { bindings: [{ role: 'roles/viewer', members: ['alice'] }] } }, /Invalid member 'alice'/],
    [
      {
        policy: { bindings: [{ role: 'roles/viewer', members: ['user:a@b.com'], condition: { expression: 'true' } }] },
      },
      /require policy version 3/,
    ],
    [{ policy: {}, extra: 1 }, /Unknown name "extra"/],
  ];
  for (const [payload, message] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/projects/bad-proj:setIamPolicy',
      headers: as(alice.accessToken),
      payload: payload as object,
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().error.message, message);
  }
  const policy = (
    await app.inject({ method: 'GET', url: '/v1/projects/bad-proj:getIamPolicy', headers: as(alice.accessToken) })
  ).json();
  assert.equal(policy.bindings.length, 1);
  await t.close();
});

test('a service account access token from generateAccessToken authenticates, only for a granted caller', async () => {
  const { t, app, alice, bob, as } = await setup();
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'sa-proj' },
  });
  const sa = await app.inject({
    method: 'POST',
    url: '/v1/projects/sa-proj/serviceAccounts',
    headers: as(alice.accessToken),
    payload: { accountId: 'worker' },
  });
  assert.equal(sa.json().email, 'worker@sa-proj.iam.gserviceaccount.com');
  const url = '/v1/projects/-/serviceAccounts/worker@sa-proj.iam.gserviceaccount.com:generateAccessToken';
  const ownerTry = await app.inject({
    method: 'POST',
    url,
    headers: as(alice.accessToken),
    payload: { scope: ['https://www.googleapis.com/auth/cloud-platform'] },
  });
  assert.equal(ownerTry.statusCode, 403, 'owners do not impersonate without Token Creator');
  await t.grant(
    'projects/sa-proj/serviceAccounts/worker@sa-proj.iam.gserviceaccount.com',
    'roles/iam.serviceAccountTokenCreator',
    'user:bob@example.com',
  );
  const minted = await app.inject({
    method: 'POST',
    url,
    headers: as(bob.accessToken),
    // As google-auth (Python) sends it for gcloud: an explicit null list of delegates.
    payload: { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '600s', delegates: null },
  });
  assert.equal(minted.statusCode, 200, minted.body);
  assert.match(minted.json().expireTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const caller = await t.context.authenticator.authenticate(minted.json().accessToken);
  assert.equal(caller.principal, 'serviceAccount:worker@sa-proj.iam.gserviceaccount.com');
  const tooLong = await app.inject({
    method: 'POST',
    url,
    headers: as(bob.accessToken),
    payload: { scope: ['x'], lifetime: '7200s' },
  });
  assert.equal(tooLong.statusCode, 400);
  await t.close();
});

test('audit entries are chained: editing or removing one is detected', async () => {
  const { t, app, alice, as } = await setup();
  const created = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'audit-proj' },
  });
  const number = created.json().response.projectNumber;
  await app.inject({
    method: 'POST',
    url: '/v1/projects/audit-proj/serviceAccounts',
    headers: as(alice.accessToken),
    payload: { accountId: 'one-sa' },
  });
  await app.inject({
    method: 'POST',
    url: '/v1/projects/audit-proj/serviceAccounts',
    headers: as(alice.accessToken),
    payload: { accountId: 'two-sa' },
  });
  const verify = () =>
    app
      .inject({ method: 'GET', url: '/v1/projects/audit-proj/logs:verify', headers: as(alice.accessToken) })
      .then((r) => r.json());
  assert.deepEqual(await verify(), { ok: true, entries: 3 });
  const list = await app.inject({
    method: 'POST',
    url: '/v2/entries:list',
    headers: as(alice.accessToken),
    payload: { resourceNames: ['projects/audit-proj'] },
  });
  assert.equal(list.json().entries[0].protoPayload.authenticationInfo.principalEmail, 'alice@example.com');
  await t.context.db.run(
    "UPDATE log_entries SET payload = replace(payload, 'one-sa', 'evil-sa') WHERE project_number = ? AND seq = 2",
    [number],
  );
  assert.deepEqual(await verify(), { ok: false, entries: 3, brokenAt: 2 });
  await t.context.db.run(
    "UPDATE log_entries SET payload = replace(payload, 'evil-sa', 'one-sa') WHERE project_number = ? AND seq = 2",
    [number],
  );
  assert.equal((await verify()).ok, true);
  await t.context.db.run('DELETE FROM log_entries WHERE project_number = ? AND seq = 3', [number]);
  assert.equal((await verify()).ok, false);
  await t.close();
});

test('entries:list filters by resource and method, scanning past other entries, and pages through the matches', async () => {
  const { t, app, alice, as } = await setup();
  const created = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'filter-proj' },
  });
  const number = created.json().response.projectNumber as string;
  const key = 'projects/filter-proj/locations/global/keyRings/kr/cryptoKeys/key1';
  const use = (resource: string, method: string) =>
    t.deps.audit.record({
      project: number,
      method: `google.cloud.kms.v1.KeyManagementService.${method}`,
      resource,
      caller: undefined,
      outcome: 'ALLOWED',
    });
  for (let i = 0; i < 3; i++) {
    await use(key, 'Decrypt');
    await use(`${key}-other`, 'Decrypt');
    await use(key, 'Encrypt');
  }
  const list = (pageToken?: string) =>
    app
      .inject({
        method: 'POST',
        url: '/v2/entries:list',
        headers: as(alice.accessToken),
        payload: {
          resourceNames: ['projects/filter-proj'],
          filter: `protoPayload.resourceName="${key}" AND protoPayload.methodName:"Decrypt"`,
          orderBy: 'timestamp desc',
          pageSize: 2,
          ...(pageToken ? { pageToken } : {}),
        },
      })
      .then((r) => r.json());
  const first = await list();
  assert.equal(first.entries.length, 2);
  assert.ok(first.nextPageToken);
  const second = await list(first.nextPageToken);
  assert.equal(second.entries.length, 1);
  assert.equal(second.nextPageToken, undefined);
  for (const e of [...first.entries, ...second.entries]) {
    assert.equal(e.protoPayload.resourceName, key);
    assert.equal(e.protoPayload.methodName, 'google.cloud.kms.v1.KeyManagementService.Decrypt');
  }
  const bad = await app.inject({
    method: 'POST',
    url: '/v2/entries:list',
    headers: as(alice.accessToken),
    payload: { resourceNames: ['projects/filter-proj'], filter: 'jsonPayload.x=~"1.*"' },
  });
  assert.equal(bad.statusCode, 501);
  const malformed = await app.inject({
    method: 'POST',
    url: '/v2/entries:list',
    headers: as(alice.accessToken),
    payload: { resourceNames: ['projects/filter-proj'], filter: 'timestamp>="last week"' },
  });
  assert.equal(malformed.statusCode, 400);
  // What gcloud logging read sends: a time bound joined with AND, newest first.
  const gcloud = await app.inject({
    method: 'POST',
    url: '/v2/entries:list',
    headers: as(alice.accessToken),
    payload: {
      resourceNames: ['projects/filter-proj'],
      filter: `timestamp>="2000-01-01T00:00:00.000001Z" AND protoPayload.methodName:Decrypt AND severity>=INFO`,
      orderBy: 'timestamp desc',
      pageSize: 2,
    },
  });
  assert.equal(gcloud.statusCode, 200, gcloud.body);
  assert.equal(gcloud.json().entries.length, 2);
  assert.ok(gcloud.json().entries[0].timestamp >= gcloud.json().entries[1].timestamp);
  await t.close();
});

test('ID tokens are signed by the deployment issuer and verify against its published JWKS', async () => {
  const { t, app, alice, as } = await setup();
  const { createLocalJWKSet, jwtVerify } = await import('jose');
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'oidc-proj' },
  });
  await app.inject({
    method: 'POST',
    url: '/v1/projects/oidc-proj/serviceAccounts',
    headers: as(alice.accessToken),
    payload: { accountId: 'inst-sa' },
  });
  await t.grant(
    'projects/oidc-proj/serviceAccounts/inst-sa@oidc-proj.iam.gserviceaccount.com',
    'roles/iam.serviceAccountTokenCreator',
    'user:alice@example.com',
  );
  const res = await app.inject({
    method: 'POST',
    url: '/v1/projects/-/serviceAccounts/inst-sa@oidc-proj.iam.gserviceaccount.com:generateIdToken',
    headers: as(alice.accessToken),
    payload: { audience: 'https://verifier.example', includeEmail: true },
  });
  assert.equal(res.statusCode, 200, res.body);
  const jwks = (await app.inject({ method: 'GET', url: '/accounts/v3/certs' })).json();
  const discovery = (await app.inject({ method: 'GET', url: '/accounts/.well-known/openid-configuration' })).json();
  const { payload } = await jwtVerify(res.json().token, createLocalJWKSet(jwks), {
    issuer: discovery.issuer,
    audience: 'https://verifier.example',
  });
  assert.equal(payload.email, 'inst-sa@oidc-proj.iam.gserviceaccount.com');
  await t.close();
});

test('dev login issues a refresh token that the token endpoint exchanges; a forged one is invalid_grant', async () => {
  const { t, app } = await setup();
  const login = await app.inject({ method: 'POST', url: '/v1/dev:login', payload: { email: 'carol@example.com' } });
  assert.equal(login.statusCode, 200);
  const token = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=refresh_token&refresh_token=${encodeURIComponent(login.json().refreshToken)}`,
  });
  assert.equal(token.statusCode, 200);
  assert.equal(
    (await t.context.authenticator.authenticate(token.json().access_token)).principal,
    'user:carol@example.com',
  );
  const forged = await app.inject({
    method: 'POST',
    url: '/token',
    payload: { grant_type: 'refresh_token', refresh_token: 'srr1.forged' },
  });
  assert.equal(forged.statusCode, 400);
  assert.equal(forged.json().error, 'invalid_grant');
  assert.equal(JSON.stringify(t.logger.entries).includes(login.json().refreshToken), false);
  await t.close();
});

test('conditions are compiled when a policy is set: bad or too costly ones are refused, after authorization', async () => {
  const { t, app, alice, bob, as } = await setup();
  await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: as(alice.accessToken),
    payload: { projectId: 'cond-proj' },
  });
  const digits = '[0,1,2,3,4,5,6,7,8,9]';
  const nested = `${digits}.all(a,${digits}.all(b,${digits}.all(c,${digits}.all(d,${digits}.all(e,${digits}.all(f,a+b+c+d+e+f>=0))))))`;
  const policyWith = (expression: string) => ({
    policy: {
      version: 3,
      bindings: [
        { role: 'roles/owner', members: ['user:alice@example.com'] },
        { role: 'roles/viewer', members: ['user:bob@example.com'], condition: { title: 't', expression } },
      ],
    },
  });
  const set = (token: string, expression: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/projects/cond-proj:setIamPolicy',
      headers: as(token),
      payload: policyWith(expression),
    });
  const refusedForBob = await set(bob.accessToken, nested);
  assert.equal(refusedForBob.statusCode, 403, refusedForBob.body);
  const costly = await set(alice.accessToken, nested);
  assert.equal(costly.statusCode, 400, costly.body);
  assert.equal(costly.json().error.status, 'INVALID_ARGUMENT');
  assert.match(
    costly.json().error.message,
    /^condition has an estimated worst-case cost of \d+, above the limit of 1000000$/,
  );
  const broken = await set(alice.accessToken, 'request.time <');
  assert.equal(broken.statusCode, 400, broken.body);
  assert.match(broken.json().error.message, /^condition does not parse at line 1, column \d+$/);
  const stored = (
    await app.inject({ method: 'GET', url: '/v1/projects/cond-proj:getIamPolicy', headers: as(alice.accessToken) })
  ).json();
  assert.equal(stored.bindings.length, 1, 'nothing of a refused policy is stored');
  const fine = await set(alice.accessToken, 'request.time < timestamp("2100-01-01T00:00:00Z")');
  assert.equal(fine.statusCode, 200, fine.body);
  await t.close();
});
