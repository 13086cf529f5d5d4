// A real `sealroom serve` (not dev mode) under its outbound policy: a project owner cannot aim the token
// service's issuer fetches at a loopback service, and the STS caller learns nothing about the attempt.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

let server: ServerProcess;
let internal: Server;
let internalUrl = '';
let internalConnections = 0;
let token = '';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of several Google API shapes, checked field by field.
type Json = Record<string, any>;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

before(async () => {
  // Stands for a service only reachable from the server's host (a database admin port, an internal API).
  internal = createServer((_req, res) => res.end('{"secret":"internal"}'));
  internal.on('connection', () => internalConnections++);
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
  // Plain http to 127.0.0.1 is allowed, so only the address check stands between the owner and loopback.
  server = await startServerProcess({ dev: false, env: { SEALROOM_OUTBOUND_HTTP_HOSTS: '127.0.0.1' } });
  const login = await server.cli(['auth', 'login', '--cred-file', join(server.stateDir, 'admin-credential.json')]);
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await server.cli(['projects', 'create', 'tenant-project'])).code, 0);
  token = (await server.cli(['auth', 'print-access-token'])).stdout.trim();
  const pool = await api(
    'POST',
    '/v1/projects/tenant-project/locations/global/workloadIdentityPools?workloadIdentityPoolId=pool-1',
    {},
  );
  assert.equal(pool.status, 200, JSON.stringify(pool.json));
});

after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, `graceful shutdown exits 0\n${server.logs()}`);
  server.cleanup();
  internal.closeAllConnections();
  await new Promise<void>((resolve) => internal.close(() => resolve()));
});

const PROVIDERS = '/v1/projects/tenant-project/locations/global/workloadIdentityPools/pool-1/providers';

test('an issuer URI that would choose the fetched path and query is refused, naming the rule', async () => {
  for (const [issuerUri, rule] of [
    [`${internalUrl}/admin?op=dump#`, /must not contain a query/],
    [`${internalUrl}/admin#`, /must not contain a fragment/],
    ['http://verifier.example/', /must use https/],
  ] as const) {
    const created = await api('POST', `${PROVIDERS}?workloadIdentityPoolProviderId=attack-1`, {
      oidc: { issuerUri, allowedAudiences: ['https://sts.googleapis.com'] },
    });
    assert.equal(created.status, 400, issuerUri);
    assert.equal(created.json.error.status, 'INVALID_ARGUMENT');
    assert.match(created.json.error.message, rule);
  }
});

test('an issuer on loopback is never fetched; the STS caller sees a generic invalid_grant, the owner the reason', async () => {
  const created = await api('POST', `${PROVIDERS}?workloadIdentityPoolProviderId=loopback`, {
    oidc: { issuerUri: internalUrl, allowedAudiences: ['https://sts.googleapis.com'] },
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const subjectToken = await new SignJWT({ sub: 'attacker', aud: 'https://sts.googleapis.com', iss: internalUrl })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
  const number = (
    await server.cli(['projects', 'describe', 'tenant-project', '--format=value(projectNumber)'])
  ).stdout.trim();
  const exchange = await fetch(`${server.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/pool-1/providers/loopback`,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }).toString(),
  });
  const body = (await exchange.json()) as Json;
  assert.equal(exchange.status, 400);
  assert.equal(body.error, 'invalid_grant');
  assert.match(body.error_description, /^The token's issuer is unavailable/);
  assert.ok(!JSON.stringify(body).includes('127.0.0.1'), JSON.stringify(body));
  assert.equal(internalConnections, 0, 'the loopback service was never connected to');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const log = await server.cli(['logging', 'read', '--project', 'tenant-project', '--format=json']);
  assert.equal(log.code, 0, log.stderr);
  const entries = JSON.parse(log.stdout) as Json[];
  const refused = entries.find((e) => e.protoPayload?.metadata?.issuerFetch !== undefined);
  assert.ok(refused, 'the refusal is in the owner’s audit log');
  assert.equal(refused.protoPayload.metadata.issuerFetch.reason, 'ERR_OUTBOUND_ADDRESS');
  assert.equal(refused.protoPayload.metadata.issuerFetch.url, `${internalUrl}/.well-known/openid-configuration`);
});
