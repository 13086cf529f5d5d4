// Pools and providers over REST: CRUD, disable, delete/undelete, IAM checks, validation, policy explain.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { exampleClaims, type FederationHarness, startHarness, startTestIssuer, type TestIssuer } from './testing.ts';

const clock = createFakeClock(Date.now());
let h: FederationHarness;
let issuer: TestIssuer;
let strangerToken: string;

async function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, token = h.ownerToken) {
  const response = await h.app.inject({
    method,
    url: `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools${path}`,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: REST bodies are read loosely in assertions
  return { status: response.statusCode, body: response.json() as Record<string, any> };
}

const OIDC = () => ({ issuerUri: `${issuer.url}/`, allowedAudiences: ['https://sts.googleapis.com'] });

before(async () => {
  issuer = await startTestIssuer();
  // Outside dev mode a plain-http issuer on loopback needs the outbound allow-list, as an operator would set it.
  h = await startHarness({
    clock,
    dev: false,
    outbound: { httpHosts: ['127.0.0.1'], allowedRanges: ['127.0.0.1/32'] },
  });
  strangerToken = (await h.iam.createUser('stranger@example.com')).accessToken;
  assert.equal((await api('POST', '?workloadIdentityPoolId=pool-a', { displayName: 'A' })).status, 200);
});

after(async () => {
  await h.close();
  await issuer.close();
});

describe('pools', () => {
  it('creates a pool as a done operation and names it by project number', async () => {
    const result = await api('POST', '?workloadIdentityPoolId=pool-b', { description: 'second' });
    assert.equal(result.body.done, true);
    assert.equal(
      result.body.response.name,
      `projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-b`,
    );
    assert.equal(result.body.response.state, 'ACTIVE');
    assert.equal((await api('POST', '?workloadIdentityPoolId=pool-b', {})).status, 409);
  });

  it('gets, lists, disables, deletes and undeletes a pool', async () => {
    assert.equal((await api('GET', '/pool-a')).body.displayName, 'A');
    const listed = await api('GET', '');
    assert.ok(listed.body.workloadIdentityPools.some((p: { name: string }) => p.name.endsWith('/pool-a')));
    const patched = await api('PATCH', '/pool-a?updateMask=disabled', { disabled: true, displayName: 'ignored' });
    assert.equal(patched.body.response.disabled, true);
    assert.equal(patched.body.response.displayName, 'A');
    await api('PATCH', '/pool-a?updateMask=disabled', { disabled: false });
    const deleted = await api('DELETE', '/pool-a');
    assert.equal(deleted.body.response.state, 'DELETED');
    assert.ok(deleted.body.response.expireTime);
    assert.equal(
      (await api('GET', '')).body.workloadIdentityPools?.some((p: { name: string }) => p.name.endsWith('/pool-a')) ??
        false,
      false,
    );
    assert.ok(
      (await api('GET', '?showDeleted=true')).body.workloadIdentityPools.some((p: { name: string }) =>
        p.name.endsWith('/pool-a'),
      ),
    );
    const restored = await api('POST', '/pool-a:undelete', {});
    assert.equal(restored.body.response.state, 'ACTIVE');
  });

  it('refuses a caller without permission exactly like a missing pool', async () => {
    const denied = await api('GET', '/pool-a', undefined, strangerToken);
    const missing = await api('GET', '/no-such-pool', undefined, strangerToken);
    assert.equal(denied.status, 403);
    assert.equal(missing.status, 403);
    assert.match(denied.body.error.message, /iam.workloadIdentityPools.get.*\(or it may not exist\)/);
    assert.equal((await api('POST', '?workloadIdentityPoolId=pool-x', {}, strangerToken)).status, 403);
  });

  it('answers a caller without permission byte for byte alike for an existing and a missing project, pool or provider', async () => {
    await api('POST', '?workloadIdentityPoolId=pool-d', {});
    await api('POST', '/pool-d/providers?workloadIdentityPoolProviderId=prov-d', { oidc: OIDC() });
    // Same length as the real project id, so the messages can be compared once the names are swapped.
    const missingProject = `${h.projectId.slice(0, -1)}${h.projectId.endsWith('z') ? 'y' : 'z'}`;
    const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown][] = [
      ['GET', '', undefined],
      ['POST', '?workloadIdentityPoolId=pool-q', {}],
      ['GET', '/POOL', undefined],
      ['PATCH', '/POOL?updateMask=displayName', { displayName: 'x' }],
      ['DELETE', '/POOL', undefined],
      ['POST', '/POOL:undelete', {}],
      ['GET', '/POOL/providers', undefined],
      ['POST', '/POOL/providers?workloadIdentityPoolProviderId=prov-q', { oidc: OIDC() }],
      ['GET', '/POOL/providers/PROV', undefined],
      ['PATCH', '/POOL/providers/PROV?updateMask=displayName', { displayName: 'x' }],
      ['DELETE', '/POOL/providers/PROV', undefined],
      ['POST', '/POOL/providers/PROV:undelete', {}],
      ['POST', '/POOL/providers/PROV:explain', { subjectToken: 'a.b.c' }],
    ];
    const ask = async (project: string, pool: string, provider: string, route: (typeof routes)[number]) => {
      const [method, path, body] = route;
      const response = await h.app.inject({
        method,
        url: `/v1/projects/${project}/locations/global/workloadIdentityPools${path.replace('POOL', pool).replace('PROV', provider)}`,
        headers: { authorization: `Bearer ${strangerToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      const text = response.body.replaceAll(project, 'P').replaceAll(pool, 'POOL').replaceAll(provider, 'PROV');
      return `${response.statusCode} ${response.headers['content-type']} ${text}`;
    };
    for (const route of routes) {
      const existing = await ask(h.projectId, 'pool-d', 'prov-d', route);
      assert.match(existing, /^403 /, route[1]);
      assert.equal(existing.includes(h.projectNumber), false, `${route[1]} reveals the project number`);
      for (const [project, pool, provider] of [
        [missingProject, 'pool-d', 'prov-d'],
        [h.projectId, 'pool-z', 'prov-d'],
        [h.projectId, 'pool-d', 'prov-z'],
      ] as const) {
        assert.equal(
          await ask(project, pool, provider, route),
          existing,
          `${route[0]} ${route[1]} ${project}/${pool}/${provider}`,
        );
      }
    }
  });

  const badIds = ['abc', 'Upper-case', 'gcp-reserved', '-leading', 'x'.repeat(33)];
  for (const id of badIds) {
    it(`refuses the pool id '${id.slice(0, 12)}'`, async () => {
      assert.equal((await api('POST', `?workloadIdentityPoolId=${id}`, {})).status, 400);
    });
  }

  it('refuses unknown fields and locations other than global', async () => {
    assert.equal((await api('POST', '?workloadIdentityPoolId=pool-c', { colour: 'red' })).status, 400);
    const response = await h.app.inject({
      method: 'GET',
      url: `/v1/projects/${h.projectId}/locations/us-central1/workloadIdentityPools`,
      headers: { authorization: `Bearer ${h.ownerToken}` },
    });
    assert.equal(response.statusCode, 400);
  });
});

describe('providers', () => {
  it('creates, updates, lists, deletes and undeletes a provider', async () => {
    const created = await api('POST', '/pool-a/providers?workloadIdentityPoolProviderId=verifier', {
      oidc: OIDC(),
      attributeMapping: { 'google.subject': 'assertion.sub' },
      attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(created.body.response.oidc, OIDC());
    const updated = await api('PATCH', '/pool-a/providers/verifier?updateMask=attributeCondition', {
      attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE' && assertion.secboot",
    });
    assert.match(updated.body.response.attributeCondition, /secboot/);
    const audiences = await api('PATCH', '/pool-a/providers/verifier?updateMask=oidc.allowedAudiences', {
      oidc: { allowedAudiences: ['https://sts.example'] },
    });
    assert.deepEqual(audiences.body.response.oidc, {
      issuerUri: `${issuer.url}/`,
      allowedAudiences: ['https://sts.example'],
    });
    assert.equal((await api('GET', '/pool-a/providers')).body.workloadIdentityPoolProviders.length, 1);
    assert.equal((await api('DELETE', '/pool-a/providers/verifier')).body.response.state, 'DELETED');
    assert.equal((await api('POST', '/pool-a/providers/verifier:undelete', {})).body.response.state, 'ACTIVE');
  });

  const invalid: Array<[string, () => Record<string, unknown>, RegExp]> = [
    ['an http issuer off loopback', () => ({ oidc: { issuerUri: 'http://verifier.example' } }), /https/],
    ['no issuer', () => ({ oidc: { allowedAudiences: [] } }), /issuerUri is required/],
    [
      'a mapping without google.subject',
      () => ({ oidc: OIDC(), attributeMapping: { 'attribute.a': 'assertion.a' } }),
      /google.subject/,
    ],
    [
      'a condition that does not parse',
      () => ({ oidc: OIDC(), attributeCondition: 'assertion.swname ==' }),
      /does not parse/,
    ],
    [
      'eleven audiences',
      () => ({ oidc: { ...OIDC(), allowedAudiences: Array.from({ length: 11 }, (_, i) => `a${i}`) } }),
      /at most 10/,
    ],
    ['a JWKS without keys', () => ({ oidc: { ...OIDC(), jwksJson: '{"keys":[]}' } }), /jwksJson/],
  ];
  for (const [what, makeBody, message] of invalid) {
    it(`refuses a provider with ${what}`, async () => {
      const result = await api('POST', '/pool-a/providers?workloadIdentityPoolProviderId=bad-one', makeBody());
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.match(result.body.error.message, message);
    });
  }
});

describe('policy explain', () => {
  it('explains a refused token clause by clause and lists the members the principal matches', async () => {
    await api('POST', '/pool-a/providers?workloadIdentityPoolProviderId=explained', {
      oidc: OIDC(),
      attributeMapping: {
        'google.subject': 'assertion.sub',
        'attribute.image_digest': 'assertion.submods.container.image_digest',
      },
      attributeCondition:
        "assertion.swname == 'CONFIDENTIAL_SPACE' &&\n  'STABLE' in assertion.submods.confidential_space.support_attributes &&\n  assertion.dbgstat == 'enable'",
    });
    const token = await issuer.sign(exampleClaims(issuer.url, clock.now()));
    const result = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      resource: `projects/${h.projectId}`,
      permissions: ['resourcemanager.projects.get'],
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const body = result.body;
    assert.equal(body.granted, false);
    assert.equal(body.verification.ok, true);
    assert.deepEqual(
      body.condition.clauses.map((c: { outcome: string; line: number }) => [c.outcome, c.line]),
      [
        ['true', 1],
        ['true', 2],
        ['false', 3],
      ],
    );
    assert.ok(
      body.members.includes(
        `principalSet://iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-a/attribute.image_digest/sha256:${'a7'.repeat(32)}`,
      ),
    );
    assert.deepEqual(body.access, [{ permission: 'resourcemanager.projects.get', allowed: false }]);
    assert.ok(body.warnings.some((w: string) => w.includes('dbgstat')));
  });

  it('reports access granted through a principalSet attribute binding', async () => {
    await h.iam.grant(
      `projects/${h.projectId}`,
      'roles/iam.workloadIdentityPoolViewer',
      `principalSet://iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-a/attribute.image_digest/sha256:${'a7'.repeat(32)}`,
    );
    const token = await issuer.sign(exampleClaims(issuer.url, clock.now()));
    const result = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      resource: `projects/${h.projectId}`,
      permissions: ['iam.workloadIdentityPools.get', 'iam.workloadIdentityPools.delete'],
    });
    assert.deepEqual(result.body.access, [
      { permission: 'iam.workloadIdentityPools.get', allowed: true },
      { permission: 'iam.workloadIdentityPools.delete', allowed: false },
    ]);
  });

  it('tests access only on resources whose policy the caller may read; others answer as missing ones do', async () => {
    // Another tenant, owner of its own pool and provider, asks about the first tenant's resources.
    await h.iam.createProject('other-tenant', 'stranger@example.com');
    const other = async (path: string, body: unknown) => {
      const response = await h.app.inject({
        method: 'POST',
        url: `/v1/projects/other-tenant/locations/global/workloadIdentityPools${path}`,
        headers: { authorization: `Bearer ${strangerToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      return { status: response.statusCode, body: response.body };
    };
    assert.equal((await other('?workloadIdentityPoolId=own-pool', {})).status, 200);
    const created = await other('/own-pool/providers?workloadIdentityPoolProviderId=own-provider', {
      oidc: OIDC(),
      attributeMapping: { 'google.subject': 'assertion.sub' },
    });
    assert.equal(created.status, 200, created.body);
    const claims = { sub: 'probe' };
    const ask = (resource: string) =>
      other('/own-pool/providers/own-provider:explain', {
        claims,
        resource,
        permissions: ['resourcemanager.projects.get'],
      });
    const existing = await ask(`projects/${h.projectId}`);
    const missing = await ask('projects/no-such-tenant');
    assert.equal(existing.status, 403);
    assert.deepEqual(
      [existing.status, existing.body.replace(h.projectId, 'P')],
      [missing.status, missing.body.replace('no-such-tenant', 'P')],
    );
    assert.match(existing.body, /resourcemanager\.projects\.getIamPolicy.*\(or it may not exist\)/);
    const key = await ask(`projects/${h.projectId}/locations/global/keyRings/kr/cryptoKeys/k`);
    assert.match(key.body, /cloudkms\.cryptoKeys\.getIamPolicy/);
    // On its own project the same question is answered.
    const own = await ask('projects/other-tenant');
    assert.equal(own.status, 200, own.body);
    assert.deepEqual(JSON.parse(own.body).access, [{ permission: 'resourcemanager.projects.get', allowed: false }]);
  });

  it('explains a draft condition without saving it: the failing clause passes once edited', async () => {
    const token = await issuer.sign(exampleClaims(issuer.url, clock.now()));
    const draft = "assertion.swname == 'CONFIDENTIAL_SPACE' &&\n  assertion.dbgstat == 'disabled-since-boot'";
    const result = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      attributeCondition: draft,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.draft, true);
    assert.equal(result.body.granted, true);
    assert.equal(result.body.policyGranted, true);
    assert.deepEqual(
      result.body.condition.clauses.map((c: { outcome: string }) => c.outcome),
      ['true', 'true'],
    );
    assert.deepEqual(result.body.warnings, []);
    const saved = await api('GET', '/pool-a/providers/explained');
    assert.match(saved.body.attributeCondition, /dbgstat == 'enable'/, 'the saved condition is unchanged');
    const mapped = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      attributeMapping: { 'google.subject': 'assertion.sub', 'attribute.zone': 'assertion.submods.gce.zone' },
    });
    assert.deepEqual(Object.keys(mapped.body.mapping.attributes), ['zone']);
    assert.equal(mapped.body.policyGranted, false, 'the saved condition still fails');
  });

  it('explains bare claims without verifying anything, and says so', async () => {
    const result = await api('POST', '/pool-a/providers/explained:explain', {
      claims: exampleClaims(issuer.url, clock.now()),
      attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.verification.ok, false);
    assert.equal(result.body.verification.code, 'NOT_VERIFIED');
    assert.equal(result.body.policyGranted, true);
    assert.equal(result.body.granted, false, 'unverified claims never count as a grant');
  });

  it('refuses a draft that does not compile, and a request with both or neither of token and claims', async () => {
    const token = await issuer.sign(exampleClaims(issuer.url, clock.now()));
    const broken = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      attributeCondition: 'assertion.swname ==',
    });
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    const noSubject = await api('POST', '/pool-a/providers/explained:explain', {
      subjectToken: token,
      attributeMapping: { 'attribute.x': 'assertion.sub' },
    });
    assert.equal(noSubject.status, 400);
    assert.match(noSubject.body.error.message, /google\.subject/);
    const both = await api('POST', '/pool-a/providers/explained:explain', { subjectToken: token, claims: {} });
    assert.equal(both.status, 400);
    assert.equal((await api('POST', '/pool-a/providers/explained:explain', {})).status, 400);
  });

  it('explains a token that fails verification on its unverified claims', async () => {
    const token = await issuer.sign({ ...exampleClaims(issuer.url, clock.now()), aud: 'https://elsewhere' });
    const result = await api('POST', '/pool-a/providers/explained:explain', { subjectToken: token });
    assert.equal(result.body.verification.ok, false);
    assert.equal(result.body.verification.code, 'ERR_FEDERATION_TOKEN_AUDIENCE');
    assert.equal(result.body.mapping.ok, true);
  });
});

const DIGITS = '[0,1,2,3,4,5,6,7,8,9]';
/** The denial of service: six nested comprehensions over ten items (188 characters). */
const NESTED = `${DIGITS}.all(a,${DIGITS}.all(b,${DIGITS}.all(c,${DIGITS}.all(d,${DIGITS}.all(e,${DIGITS}.all(f,a+b+c+d+e+f>=0))))))`;

describe('provider cost limits', () => {
  it('refuses a condition or mapping over the CEL cost estimate, naming the limit, and stores nothing', async () => {
    for (const [id, fields, label] of [
      ['costly-condition', { attributeCondition: NESTED }, 'attributeCondition'],
      ['costly-mapping', { attributeMapping: { 'google.subject': `string(${NESTED})` } }, 'mapping google.subject'],
    ] as const) {
      const refused = await api('POST', `/pool-a/providers?workloadIdentityPoolProviderId=${id}`, {
        oidc: OIDC(),
        ...fields,
      });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error.status, 'INVALID_ARGUMENT');
      assert.match(
        refused.body.error.message,
        new RegExp(`^${label} has an estimated worst-case cost of \\d+, above the limit of 1000000$`),
      );
      assert.equal((await api('GET', `/pool-a/providers/${id}`)).status, 404);
    }
  });

  it('refuses a patch that makes a condition too costly, and keeps the stored one', async () => {
    const cheap = "assertion.swname == 'CONFIDENTIAL_SPACE'";
    await api('POST', '/pool-a/providers?workloadIdentityPoolProviderId=patched', {
      oidc: OIDC(),
      attributeCondition: cheap,
    });
    const refused = await api('PATCH', '/pool-a/providers/patched?updateMask=attributeCondition', {
      attributeCondition: NESTED,
    });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /above the limit of 1000000$/);
    assert.equal((await api('GET', '/pool-a/providers/patched')).body.attributeCondition, cheap);
  });

  it('lets a provider saved before the estimate existed be disabled without touching its policy', async () => {
    await api('POST', '/pool-a/providers?workloadIdentityPoolProviderId=legacy', { oidc: OIDC() });
    const name = `projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-a/providers/legacy`;
    const row = await h.iam.context.db.get<{ data: string }>('SELECT data FROM federation_providers WHERE name = ?', [
      name,
    ]);
    const data = { ...JSON.parse(row?.data ?? '{}'), attributeCondition: NESTED };
    const updated = await h.iam.context.db.run('UPDATE federation_providers SET data = ? WHERE name = ?', [
      JSON.stringify(data),
      name,
    ]);
    assert.equal(updated.changes, 1);
    const disabled = await api('PATCH', '/pool-a/providers/legacy?updateMask=disabled', { disabled: true });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    assert.equal(disabled.body.response.disabled, true);
  });
});
