// Issuer URIs and the fetches of discovery and JWKS: what an attacker registering an issuer can make the server do.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Clock, createFakeClock } from '@sealroom/core';
import type { OutboundPolicy } from '@sealroom/outbound';
import { ISSUER_FAILURE_BACKOFF_MS, ISSUER_UNAVAILABLE_MESSAGE } from './issuer-keys.ts';
import { createSqlFederationStore } from './store.ts';
import { exampleClaims, type FederationHarness, startHarness, startTestIssuer, type TestIssuer } from './testing.ts';

interface Target {
  readonly url: string;
  readonly seen: string[];
  connections: number;
  close(): Promise<void>;
}

const targets: Target[] = [];
const harnesses: FederationHarness[] = [];
let issuer: TestIssuer;

before(async () => {
  issuer = await startTestIssuer();
});

after(async () => {
  for (const h of harnesses) await h.close();
  for (const t of targets) await t.close();
  await issuer.close();
});

/** A server standing for something the attacker wants reached (an internal API, a slow or endless issuer). */
async function startTarget(
  handler: (req: IncomingMessage, res: ServerResponse, url: string) => void,
  host = '127.0.0.1',
): Promise<Target> {
  const seen: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    handler(req, res, url);
  });
  const target: Target = {
    url: '',
    seen,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => target.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  url = `http://${host}:${(server.address() as AddressInfo).port}`;
  Object.assign(target, { url });
  targets.push(target);
  return target;
}

async function harness(options: {
  dev: boolean;
  outbound?: OutboundPolicy;
  clock?: Clock;
}): Promise<FederationHarness> {
  const h = await startHarness(options);
  harnesses.push(h);
  const pool = await call(h, 'POST', '?workloadIdentityPoolId=pool-1', {});
  assert.equal(pool.status, 200, JSON.stringify(pool.body));
  return h;
}

async function call(h: FederationHarness, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) {
  const response = await h.app.inject({
    method,
    url: `/v1/projects/${h.projectId}/locations/global/workloadIdentityPools${path}`,
    headers: {
      authorization: `Bearer ${h.ownerToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: REST bodies are read loosely in assertions
  return { status: response.statusCode, body: response.json() as Record<string, any> };
}

async function createProvider(h: FederationHarness, id: string, issuerUri: string) {
  return call(h, 'POST', `/pool-1/providers?workloadIdentityPoolProviderId=${id}`, {
    oidc: { issuerUri, allowedAudiences: ['https://sts.googleapis.com'] },
  });
}

async function exchange(h: FederationHarness, provider: string, iss: string) {
  const token = await issuer.sign({ ...exampleClaims(issuer.url, Date.now()), iss });
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1/providers/${provider}`,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }).toString(),
  });
  return { status: response.statusCode, body: response.json() as Record<string, string> };
}

/** The `issuerFetch` detail of the newest exchange audited for `provider`. */
async function auditedFetch(h: FederationHarness, provider: string): Promise<Record<string, string> | undefined> {
  const entries = await h.iam.deps.audit.list(h.projectNumber, { pageSize: 1000, newestFirst: true });
  for (const entry of entries) {
    const payload = (entry.body as { protoPayload: Record<string, unknown> }).protoPayload;
    if (!String(payload.methodName).endsWith('.ExchangeToken')) continue;
    if (!String(payload.resourceName).endsWith(`/providers/${provider}`)) continue;
    return (payload.metadata as { issuerFetch?: Record<string, string> }).issuerFetch;
  }
  return undefined;
}

/** The refusal every issuer problem gets at the STS: invalid_grant and one generic sentence. */
function assertGenericRefusal(result: { status: number; body: Record<string, string> }, secrets: string[]) {
  assert.equal(result.status, 400, JSON.stringify(result.body));
  assert.equal(result.body.error, 'invalid_grant');
  assert.equal(result.body.error_description, ISSUER_UNAVAILABLE_MESSAGE);
  for (const secret of secrets) assert.ok(!JSON.stringify(result.body).includes(secret), secret);
}

describe('issuer URIs', () => {
  const refused: [string, RegExp][] = [
    ['https://issuer.example/?x=1', /must not contain a query/],
    ['https://issuer.example/?', /must not contain a query/],
    ['https://issuer.example/#', /must not contain a fragment/],
    ['https://issuer.example/admin#/', /must not contain a fragment/],
    ['https://user:pass@issuer.example/', /user name or password/],
    ['https://@issuer.example/', /user name or password/],
    ['https://issuer.example/a\tb', /whitespace/],
    ['https://issuer.example\\admin', /backslash/],
    ['ftp://issuer.example/', /must use https/],
    ['http://verifier.example/', /must use https/],
    [`https://issuer.example/${'a'.repeat(2000)}`, /at most 2000 characters/],
  ];

  it('refuses at create and at patch an issuer URI that breaks a rule, naming the rule, and stores nothing', async () => {
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'good', `${issuer.url}/`)).status, 200);
    for (const [uri, rule] of refused) {
      const created = await createProvider(h, 'bad-1', uri);
      assert.equal(created.status, 400, uri);
      assert.equal(created.body.error.status, 'INVALID_ARGUMENT');
      assert.match(created.body.error.message, rule, uri);
      const patched = await call(h, 'PATCH', '/pool-1/providers/good?updateMask=oidc.issuerUri', {
        oidc: { issuerUri: uri },
      });
      assert.equal(patched.status, 400, uri);
      assert.match(patched.body.error.message, rule, uri);
    }
    assert.equal((await call(h, 'GET', '/pool-1/providers/bad-1')).status, 404);
    assert.equal((await call(h, 'GET', '/pool-1/providers/good')).body.oidc.issuerUri, `${issuer.url}/`);
  });

  it('refuses a plain-http issuer outside dev mode unless the outbound policy lists its host', async () => {
    const strict = await harness({ dev: false });
    const refusedHttp = await createProvider(strict, 'local', `${issuer.url}/`);
    assert.equal(refusedHttp.status, 400);
    assert.match(refusedHttp.body.error.message, /must use https/);
    const listed = await harness({ dev: false, outbound: { httpHosts: ['127.0.0.1'], allowedRanges: ['127.0.0.1'] } });
    assert.equal((await createProvider(listed, 'local', `${issuer.url}/`)).status, 200);
  });
});

describe('issuer fetches', () => {
  it('never lets a stored issuer URI with ? and # choose the path and query the server fetches', async () => {
    const internal = await startTarget((_req, res) => res.end('{"secret":"internal"}'));
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'legacy', `${issuer.url}/`)).status, 200);
    // A provider stored before the rules existed: the issuer is re-checked before every fetch.
    const store = await createSqlFederationStore(h.iam.context.db);
    const name = `projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1/providers/legacy`;
    const record = await store.getProvider(name);
    assert.ok(record);
    const attack = `${internal.url}/internal/admin?op=dump#`;
    await store.putProvider({ ...record, oidc: { ...record.oidc, issuerUri: attack }, updateTime: Date.now() });
    const result = await exchange(h, 'legacy', attack);
    assertGenericRefusal(result, [internal.url, 'internal']);
    assert.deepEqual(internal.seen, []);
    assert.equal((await auditedFetch(h, 'legacy'))?.reason, 'ISSUER_URI_INVALID');
  });

  it('answers an unreachable issuer with a generic invalid_grant and audits the URL and reason for the pool owner', async () => {
    const gone = await startTarget(() => {});
    await gone.close();
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'gone', gone.url)).status, 200);
    const result = await exchange(h, 'gone', gone.url);
    assertGenericRefusal(result, [gone.url, gone.url.replace(/^http:\/\//, '')]);
    const detail = await auditedFetch(h, 'gone');
    assert.equal(detail?.url, `${gone.url}/.well-known/openid-configuration`);
    assert.equal(detail?.reason, 'ERR_OUTBOUND_CONNECT');
  });

  it('refuses an issuer on loopback when the deployment does not allow loopback, without connecting to it', async () => {
    const internal = await startTarget((_req, res) => res.end('{}'));
    const h = await harness({ dev: false, outbound: { httpHosts: ['127.0.0.1'] } });
    assert.equal((await createProvider(h, 'internal', internal.url)).status, 200);
    assertGenericRefusal(await exchange(h, 'internal', internal.url), [internal.url]);
    assert.equal(internal.connections, 0);
    assert.equal((await auditedFetch(h, 'internal'))?.reason, 'ERR_OUTBOUND_ADDRESS');
  });

  it('refuses a jwks_uri on an internal address the policy does not list, without connecting to it', async () => {
    const internal = await startTarget((_req, res) => res.end('{"keys":[]}'), '127.0.0.2');
    const rogue = await startTarget((_req, res, url) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${internal.url}/jwks` }));
    });
    const h = await harness({
      dev: false,
      outbound: { httpHosts: ['127.0.0.1', '127.0.0.2'], allowedRanges: ['127.0.0.1/32'] },
    });
    assert.equal((await createProvider(h, 'rogue', rogue.url)).status, 200);
    assertGenericRefusal(await exchange(h, 'rogue', rogue.url), [internal.url]);
    assert.deepEqual(rogue.seen, ['/.well-known/openid-configuration']);
    assert.equal(internal.connections, 0);
    const detail = await auditedFetch(h, 'rogue');
    assert.equal(detail?.reason, 'ERR_OUTBOUND_ADDRESS');
    assert.equal(detail?.url, `${internal.url}/jwks`);
  });

  it('refuses an issuer whose discovery redirects to the metadata server', async () => {
    const redirector = await startTarget((_req, res) => {
      res.writeHead(302, { location: 'https://169.254.169.254/computeMetadata/v1/' });
      res.end();
    });
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'redirects', redirector.url)).status, 200);
    assertGenericRefusal(await exchange(h, 'redirects', redirector.url), ['169.254']);
    assert.equal((await auditedFetch(h, 'redirects'))?.reason, 'ERR_OUTBOUND_ADDRESS');
  });

  it('answers an issuer that stalls mid-document with 400 invalid_grant, not a server error', async () => {
    const stalled = await startTarget((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"issuer":');
    });
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'stalled', stalled.url)).status, 200);
    assertGenericRefusal(await exchange(h, 'stalled', stalled.url), [stalled.url]);
    assert.equal((await auditedFetch(h, 'stalled'))?.reason, 'ERR_OUTBOUND_TIMEOUT');
  });

  it('cuts an endless discovery document at the size limit and answers 400 invalid_grant', async () => {
    let closed = false;
    const endless = await startTarget((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => {
        closed = true;
      });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const h = await harness({ dev: true });
    assert.equal((await createProvider(h, 'endless', endless.url)).status, 200);
    assertGenericRefusal(await exchange(h, 'endless', endless.url), [endless.url]);
    assert.equal((await auditedFetch(h, 'endless'))?.reason, 'ERR_OUTBOUND_TOO_LARGE');
    for (let i = 0; i < 100 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(closed, true, 'the server saw the connection cut');
  });

  it('fetches a failing issuer at most once per backoff window, however many exchanges name it', async () => {
    const failing = await startTarget((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const clock = createFakeClock(Date.now());
    const h = await harness({ dev: true, clock });
    assert.equal((await createProvider(h, 'failing', failing.url)).status, 200);
    for (let i = 0; i < 5; i++) assertGenericRefusal(await exchange(h, 'failing', failing.url), [failing.url]);
    assert.deepEqual(failing.seen, ['/.well-known/openid-configuration']);
    assert.equal((await auditedFetch(h, 'failing'))?.reason, 'HTTP_500');
    clock.advance(ISSUER_FAILURE_BACKOFF_MS);
    assertGenericRefusal(await exchange(h, 'failing', failing.url), [failing.url]);
    assert.equal(failing.seen.length, 2);
  });

  it('fetches discovery and keys once for concurrent exchanges against a new issuer', async () => {
    const fresh = await startTestIssuer();
    try {
      const h = await harness({ dev: true });
      assert.equal((await createProvider(h, 'fresh', fresh.url)).status, 200);
      const token = await fresh.sign(exampleClaims(fresh.url, Date.now()));
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          h.app.inject({
            method: 'POST',
            url: '/v1/token',
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({
              grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
              audience: `//iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/pool-1/providers/fresh`,
              requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
              subjectToken: token,
              subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
            }),
          }),
        ),
      );
      assert.ok(results.every((r) => r.statusCode === 200));
      assert.equal(fresh.jwksFetches(), 1);
    } finally {
      await fresh.close();
    }
  });
});
