// STS over HTTP: the seeds' providers, each single-claim mismatch, the issue's bad-input list, lifetimes, audit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreError, createFakeClock } from '@sealroom/core';
import { exampleClaims, type FederationHarness, startHarness, startTestIssuer, type TestIssuer } from './testing.ts';
import { MAX_AUDITED_CLAIMS_BYTES } from './exchange.ts';

const clock = createFakeClock(Date.now());
let h: FederationHarness;
let issuer: TestIssuer;

const OPERATOR_SA = 'operator-svc-account@operator-project.iam.gserviceaccount.com';
const DIGEST = 'sha256:a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7';

// Provider definitions of seeds 001 and 004, with the seeds' placeholders filled in.
const SEED_PROVIDERS: Record<string, { attributeMapping: Record<string, string>; attributeCondition: string }> = {
  'seed-001': {
    attributeMapping: {
      'google.subject': 'assertion.sub',
      'attribute.image_reference': 'assertion.submods.container.image_reference',
    },
    attributeCondition: `assertion.swname=='CONFIDENTIAL_SPACE' && "STABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.gce.project_id=='operator-project' && '${OPERATOR_SA}' in assertion.google_service_accounts`,
  },
  'seed-004-digest': {
    attributeMapping: {
      'google.subject':
        '"gcpcs::"+assertion.submods.container.image_digest+"::"+assertion.submods.gce.project_number+"::"+assertion.submods.gce.instance_id',
      'attribute.image_digest': 'assertion.submods.container.image_digest',
    },
    attributeCondition:
      "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes",
  },
  'seed-004-sa': {
    attributeMapping: { 'google.subject': 'assertion.sub' },
    attributeCondition: `assertion.submods.container.image_digest == '${DIGEST}' && '${OPERATOR_SA}' in assertion.google_service_accounts && assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes`,
  },
};

type Claims = Record<string, unknown> & {
  submods: {
    container: Record<string, unknown>;
    gce: Record<string, unknown>;
    confidential_space: Record<string, unknown>;
  };
};

function claims(): Claims {
  return exampleClaims(issuer.url, clock.now()) as Claims;
}

const MISMATCHES: Record<string, (c: Claims) => void> = {
  swname: (c) => {
    c.swname = 'GCE';
  },
  'support_attributes without STABLE': (c) => {
    c.submods.confidential_space.support_attributes = ['USABLE'];
  },
  'submods.gce.project_id': (c) => {
    c.submods.gce.project_id = 'other-project';
  },
  google_service_accounts: (c) => {
    c.google_service_accounts = ['someone@other.iam.gserviceaccount.com'];
  },
  'submods.container.image_digest': (c) => {
    c.submods.container.image_digest = `sha256:${'b'.repeat(64)}`;
  },
};
const MISMATCHES_OF: Record<string, string[]> = {
  'seed-001': ['swname', 'support_attributes without STABLE', 'submods.gce.project_id', 'google_service_accounts'],
  'seed-004-digest': ['swname', 'support_attributes without STABLE'],
  'seed-004-sa': [
    'swname',
    'support_attributes without STABLE',
    'google_service_accounts',
    'submods.container.image_digest',
  ],
};

function audience(provider: string): string {
  return `//iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1/providers/${provider}`;
}

async function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = h.ownerToken) {
  const response = await h.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

async function createProvider(id: string, fields: Record<string, unknown>) {
  const result = await api(
    'POST',
    `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools/pool-1/providers?workloadIdentityPoolProviderId=${id}`,
    { oidc: { issuerUri: `${issuer.url}/`, allowedAudiences: ['https://sts.googleapis.com'] }, ...fields },
  );
  assert.equal(result.status, 200, JSON.stringify(result.body));
}

async function exchange(subjectToken: string, provider: string, extra: Record<string, string> = {}) {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: audience(provider),
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    ...extra,
  });
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    payload: form.toString(),
  });
  return { status: response.statusCode, body: response.json() as Record<string, string | number> };
}

before(async () => {
  issuer = await startTestIssuer();
  h = await startHarness({ clock });
  const pool = await api(
    'POST',
    `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools?workloadIdentityPoolId=pool-1`,
    { displayName: 'Collaborator pool' },
  );
  assert.equal(pool.status, 200, JSON.stringify(pool.body));
  for (const [id, provider] of Object.entries(SEED_PROVIDERS)) await createProvider(id, provider);
});

after(async () => {
  await h.close();
  await issuer.close();
});

describe('seed providers', () => {
  for (const id of Object.keys(SEED_PROVIDERS)) {
    it(`${id} exchanges a matching token for a federated access token`, async () => {
      const result = await exchange(await issuer.sign(claims()), id);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.equal(result.body.token_type, 'Bearer');
      assert.equal(result.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
      assert.ok(Number(result.body.expires_in) > 3500 && Number(result.body.expires_in) <= 3600);
      const caller = await h.iam.context.authenticator.authenticate(String(result.body.access_token));
      assert.equal(caller.kind, 'federated');
      assert.ok(caller.principal.startsWith(`principal://iam.googleapis.com/projects/${h.projectNumber}/`));
      assert.equal(
        caller.federation?.pool,
        `projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1`,
      );
    });
    for (const mismatch of MISMATCHES_OF[id] ?? []) {
      it(`${id} refuses a token whose ${mismatch} does not match, with unauthorized_client`, async () => {
        const c = claims();
        MISMATCHES[mismatch]?.(c);
        const result = await exchange(await issuer.sign(c), id);
        assert.equal(result.status, 400);
        assert.equal(result.body.error, 'unauthorized_client');
        assert.equal(result.body.error_description, 'The given credential is rejected by the attribute condition.');
      });
    }
  }

  it('maps the seed 004 subject and image digest attribute', async () => {
    const result = await exchange(await issuer.sign(claims()), 'seed-004-digest');
    const caller = await h.iam.context.authenticator.authenticate(String(result.body.access_token));
    assert.equal(caller.federation?.subject, `gcpcs::${DIGEST}::123456789012::6920867375712861823`);
    assert.deepEqual(caller.federation?.attributes, { image_digest: DIGEST });
  });

  it('accepts an ES256 token, a JSON camelCase body and a subject token with a trailing newline', async () => {
    const token = await issuer.sign(claims(), { alg: 'ES256' });
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: audience('seed-001'),
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        subjectToken: `${token}\n`,
        subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('never grants a token that outlives the subject token', async () => {
    const c = claims();
    c.exp = Math.floor(clock.now() / 1000) + 600;
    const result = await exchange(await issuer.sign(c), 'seed-001');
    assert.equal(result.status, 200);
    assert.ok(Number(result.body.expires_in) <= 600);
  });
});

describe('bad input', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = () => Math.floor(clock.now() / 1000);
  const cases: Array<[string, () => Promise<{ token?: string; provider?: string; raw?: string }>, string, RegExp]> = [
    [
      'alg none',
      async () => ({ token: `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64(claims())}.` }),
      'invalid_grant',
      /alg 'none' is not allowed/,
    ],
    [
      'HS256 signed with the public key as secret',
      async () => {
        const { SignJWT } = await import('jose');
        const token = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
          .sign(new TextEncoder().encode(issuer.rsaPublicPem));
        return { token };
      },
      'invalid_grant',
      /alg 'HS256' is not allowed/,
    ],
    [
      'an unknown kid',
      async () => ({ token: await issuer.sign(claims(), { kid: 'nope' }) }),
      'invalid_grant',
      /no key with kid/,
    ],
    [
      'a wrong issuer',
      async () => ({ token: await issuer.sign({ ...claims(), iss: 'https://evil.example' }) }),
      'invalid_grant',
      /iss is not the provider's issuer/,
    ],
    [
      'an expired token',
      async () => ({ token: await issuer.sign({ ...claims(), iat: now() - 7200, exp: now() - 3600 }) }),
      'invalid_grant',
      /expired/,
    ],
    [
      'a token not yet valid',
      async () => ({
        token: await issuer.sign({ ...claims(), iat: now() + 600, nbf: now() + 600, exp: now() + 3600 }),
      }),
      'invalid_grant',
      /issued in the future/,
    ],
    [
      'exp - iat of 48 hours',
      async () => ({ token: await issuer.sign({ ...claims(), iat: now() - 10, exp: now() - 10 + 48 * 3600 }) }),
      'invalid_grant',
      /less than 48 hours/,
    ],
    [
      'a wrong audience',
      async () => ({ token: await issuer.sign({ ...claims(), aud: 'https://other.example' }) }),
      'invalid_grant',
      /aud does not match/,
    ],
    [
      'a mapping producing a subject over 127 bytes',
      async () => ({ token: await issuer.sign({ ...claims(), sub: 's'.repeat(128) }), provider: 'seed-001' }),
      'invalid_grant',
      /google.subject is 128 bytes/,
    ],
    [
      'a condition that errors',
      async () => ({ token: await issuer.sign(claims()), provider: 'errors' }),
      'unauthorized_client',
      /rejected by the attribute condition/,
    ],
    [
      'a disabled provider',
      async () => ({ token: await issuer.sign(claims()), provider: 'disabled' }),
      'invalid_target',
      /The target service indicated by the "audience" parameters is invalid/,
    ],
    [
      'an issuer without discovery',
      async () => ({ token: await issuer.sign({ ...claims(), iss: 'http://127.0.0.1:1' }), provider: 'no-discovery' }),
      'invalid_grant',
      /^The token's issuer is unavailable/,
    ],
    ['a malformed form body', async () => ({ raw: 'grant_type=a&grant_type=b' }), 'invalid_request', /repeated/],
    ['a token that is not a JWT', async () => ({ token: 'not-a-jwt' }), 'invalid_grant', /not a valid JWT/],
  ];

  before(async () => {
    await createProvider('errors', {
      attributeMapping: { 'google.subject': 'assertion.sub' },
      attributeCondition: 'assertion.no_such_claim == 1',
    });
    await createProvider('disabled', { disabled: true });
    const created = await api(
      'POST',
      `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools/pool-1/providers?workloadIdentityPoolProviderId=no-discovery`,
      { oidc: { issuerUri: 'http://127.0.0.1:1', allowedAudiences: ['https://sts.googleapis.com'] } },
    );
    assert.equal(created.status, 200);
  });

  for (const [what, make, error, description] of cases) {
    it(`answers 400 ${error} to ${what}`, async () => {
      const input = await make();
      let result: { status: number; body: Record<string, string | number> };
      if (input.raw !== undefined) {
        const response = await h.app.inject({
          method: 'POST',
          url: '/v1/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: input.raw,
        });
        result = { status: response.statusCode, body: response.json() };
      } else {
        result = await exchange(input.token ?? '', input.provider ?? 'seed-001');
      }
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.equal(result.body.error, error);
      assert.match(String(result.body.error_description), description);
    });
  }

  it('refuses an unsupported grant or token type with invalid_request', async () => {
    const token = await issuer.sign(claims());
    for (const extra of [
      { grant_type: 'client_credentials' },
      { subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request' },
      { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
    ]) {
      const result = await exchange(token, 'seed-001', extra);
      assert.equal(result.status, 400);
      assert.equal(result.body.error, 'invalid_request');
    }
  });

  it('refuses an audience naming no provider with invalid_target, and audits it in the project', async () => {
    const result = await exchange(await issuer.sign(claims()), 'missing');
    assert.equal(result.body.error, 'invalid_target');
    const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 1000, newestFirst: true });
    const names = entries.map((e) => (e.body as { protoPayload: { resourceName: string } }).protoPayload.resourceName);
    assert.ok(names.some((n) => n.endsWith('/workloadIdentityPools/pool-1/providers/missing')));
  });
});

describe('issuer keys', () => {
  it('refetches the JWKS for an unknown kid after a rotation, at most every 30 seconds', async () => {
    await exchange(await issuer.sign(claims()), 'seed-001');
    await issuer.rotate('rsa-2');
    const before = issuer.jwksFetches();
    const early = await exchange(await issuer.sign(claims()), 'seed-001');
    if (early.status === 400) {
      assert.equal(issuer.jwksFetches(), before);
      clock.advance(31_000);
    }
    const result = await exchange(await issuer.sign(claims()), 'seed-001');
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(issuer.jwksFetches(), before + 1);
  });
});

describe('audit', () => {
  it('records granted and refused exchanges in the pool project with subject and failing clause', async () => {
    const c = claims();
    c.swname = 'GCE';
    await exchange(await issuer.sign(c), 'seed-004-digest');
    const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 1000, newestFirst: true });
    const bodies = entries.map((e) => e.body as { protoPayload: Record<string, unknown> });
    const exchanges = bodies.map((b) => b.protoPayload).filter((p) => String(p.methodName).endsWith('.ExchangeToken'));
    const refused = exchanges.find((p) => (p.metadata as Record<string, unknown>).failingClause !== undefined);
    assert.ok(refused, 'a refused exchange is in the audit log');
    assert.deepEqual(refused.status, { code: 'unauthorized_client' });
    const metadata = refused.metadata as Record<string, unknown>;
    assert.equal(metadata.failingClause, "assertion.swname == 'CONFIDENTIAL_SPACE'");
    assert.match(String(metadata.subject), /^gcpcs::sha256:a7a7/);
    const granted = exchanges.find((p) => JSON.stringify(p.status) === '{}');
    assert.ok(granted, 'a granted exchange is in the audit log');
    assert.match(String((granted.authenticationInfo as Record<string, unknown>).principalSubject), /^principal:\/\//);
    assert.ok(!JSON.stringify(bodies).includes('eyJ'), 'no JWT in the audit log');
  });

  it('keeps the claims of each exchange in its audit entry, saying whether they verified, never the token', async () => {
    const refusedClaims = claims();
    refusedClaims.swname = 'GCE';
    const forged = await issuer.sign(claims());
    const tampered = `${forged.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims(), sub: 'forged' })).toString('base64url')}.${forged.split('.')[2]}`;
    await exchange(await issuer.sign(refusedClaims), 'seed-004-digest');
    await exchange(tampered, 'seed-004-digest');
    const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 1000, newestFirst: true });
    const metadata = entries
      .map((e) => (e.body as { protoPayload: { methodName: string; metadata: Record<string, unknown> } }).protoPayload)
      .filter((p) => p.methodName.endsWith('.ExchangeToken'))
      .map((p) => p.metadata);
    const [unsigned, refused] = metadata;
    assert.equal(unsigned?.claimsVerified, false);
    assert.equal((unsigned?.claims as Record<string, unknown> | undefined)?.sub, 'forged');
    assert.equal(refused?.claimsVerified, true);
    assert.equal((refused?.claims as Record<string, unknown> | undefined)?.swname, 'GCE');
    assert.ok(!JSON.stringify(metadata).includes('eyJ'), 'no JWT in the audit log');
  });

  it('answers no token when the grant cannot be audited, and still refuses a refusal', async () => {
    const audit = h.iam.deps.audit;
    const record = audit.record;
    audit.record = async () => {
      throw new CoreError('ERR_STORAGE_UNWRITABLE', 'The state directory cannot be written.');
    };
    try {
      const granted = await exchange(await issuer.sign(claims()), 'seed-001');
      assert.equal(granted.status, 503, JSON.stringify(granted.body));
      assert.equal(granted.body.access_token, undefined);
      const c = claims();
      c.swname = 'GCE';
      const refused = await exchange(await issuer.sign(c), 'seed-004-digest');
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'unauthorized_client');
    } finally {
      audit.record = record;
    }
    assert.equal((await exchange(await issuer.sign(claims()), 'seed-001')).status, 200);
  });

  it('leaves out claims larger than 16 KiB as JSON, and keeps those just under', async () => {
    const sized = (bytes: number) => {
      const c = claims();
      c.padding = '';
      c.padding = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(c)));
      assert.equal(Buffer.byteLength(JSON.stringify(c)), bytes);
      return c;
    };
    await exchange(await issuer.sign(sized(MAX_AUDITED_CLAIMS_BYTES)), 'seed-001');
    await exchange(await issuer.sign(sized(MAX_AUDITED_CLAIMS_BYTES + 3)), 'seed-001');
    const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 2, newestFirst: true });
    const [large, small] = entries.map(
      (e) => (e.body as { protoPayload: { metadata: Record<string, unknown> } }).protoPayload.metadata,
    );
    assert.equal(large?.claimsOmitted, `larger than ${MAX_AUDITED_CLAIMS_BYTES} bytes`);
    assert.equal(large?.claims, undefined);
    assert.equal(
      (small?.claims as Record<string, unknown> | undefined)?.padding,
      sized(MAX_AUDITED_CLAIMS_BYTES).padding,
    );
    assert.equal(small?.claimsOmitted, undefined);
  });
});

describe('introspect', () => {
  it('describes an active federated token and calls anything else inactive', async () => {
    const result = await exchange(await issuer.sign(claims()), 'seed-001');
    const active = await h.app.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: String(result.body.access_token) }).toString(),
    });
    const body = active.json() as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.match(
      String(body.username),
      /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/pool-1\/subject\//,
    );
    const inactive = await h.app.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: 'garbage' }),
    });
    assert.deepEqual(inactive.json(), { active: false });
  });
});

describe('cost limit', () => {
  it('denies with unauthorized_client a stored policy cut off at the runtime limit, and audits the code', async () => {
    const digits = '[0,1,2,3,4,5,6,7,8,9]';
    const nested = `${digits}.all(a,${digits}.all(b,${digits}.all(c,${digits}.all(d,${digits}.all(e,${digits}.all(f,a+b+c+d+e+f>=0))))))`;
    // A provider saved before the estimate existed: its condition is written straight to the store.
    await createProvider('legacy-costly', { attributeMapping: { 'google.subject': 'assertion.sub' } });
    const name = `projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1/providers/legacy-costly`;
    const row = await h.iam.context.db.get<{ data: string }>('SELECT data FROM federation_providers WHERE name = ?', [
      name,
    ]);
    const data = { ...JSON.parse(row?.data ?? '{}'), attributeCondition: nested, updateTime: clock.now() + 1 };
    const updated = await h.iam.context.db.run('UPDATE federation_providers SET data = ? WHERE name = ?', [
      JSON.stringify(data),
      name,
    ]);
    assert.equal(updated.changes, 1);
    const result = await exchange(await issuer.sign(claims()), 'legacy-costly');
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, {
      error: 'unauthorized_client',
      error_description: 'The attribute condition exceeded its evaluation cost limit.',
    });
    const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 1000, newestFirst: true });
    const refused = entries
      .map(
        (e) => (e.body as { protoPayload: { resourceName: string; metadata: Record<string, unknown> } }).protoPayload,
      )
      .find((p) => p.resourceName === name);
    assert.equal(refused?.metadata.errorCode, 'ERR_FEDERATION_COST_LIMIT');
    assert.equal(refused?.metadata.failingExpression, 'attributeCondition');
  });
});

describe('storage faults', () => {
  it('answers 503 temporarily_unavailable, retryable, when the storage cannot be written during an exchange', async () => {
    const token = await issuer.sign(claims());
    // SQLite itself refuses every write from now on (SQLITE_READONLY), as a read-only or failing disk does.
    await h.iam.context.db.run('PRAGMA query_only = ON');
    let result: Awaited<ReturnType<typeof exchange>>;
    try {
      result = await exchange(token, 'seed-004-digest');
    } finally {
      await h.iam.context.db.run('PRAGMA query_only = OFF');
    }
    assert.equal(result.status, 503);
    assert.equal(result.body.error, 'temporarily_unavailable');
    assert.match(String(result.body.error_description), /storage cannot be written/);
    assert.equal((await exchange(token, 'seed-004-digest')).status, 200);
  });
});

describe('federated tokens and their pool and provider', () => {
  it('stop working at once when their provider or pool is disabled or deleted, and work again when restored', async () => {
    await createProvider('lifecycle', SEED_PROVIDERS['seed-004-digest'] as Record<string, unknown>);
    const issued = await exchange(await issuer.sign(claims()), 'lifecycle');
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = String(issued.body.access_token);
    const works = async () => {
      try {
        await h.iam.context.authenticator.authenticate(token);
        return true;
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'ERR_UNAUTHENTICATED');
        return false;
      }
    };
    const pool = `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools/pool-1`;
    const provider = `${pool}/providers/lifecycle`;
    const step = async (method: 'PATCH' | 'DELETE' | 'POST', url: string, body?: unknown) => {
      const result = await api(method, url, body);
      assert.equal(result.status, 200, JSON.stringify(result.body));
    };
    assert.equal(await works(), true);
    await step('PATCH', `${provider}?updateMask=disabled`, { disabled: true });
    assert.equal(await works(), false, 'provider disabled');
    await step('PATCH', `${provider}?updateMask=disabled`, { disabled: false });
    assert.equal(await works(), true, 'provider enabled again');
    await step('PATCH', `${pool}?updateMask=disabled`, { disabled: true });
    assert.equal(await works(), false, 'pool disabled');
    await step('PATCH', `${pool}?updateMask=disabled`, { disabled: false });
    assert.equal(await works(), true, 'pool enabled again');
    await step('DELETE', provider);
    assert.equal(await works(), false, 'provider deleted');
    await step('POST', `${provider}:undelete`, {});
    assert.equal(await works(), true, 'provider undeleted');
  });
});
