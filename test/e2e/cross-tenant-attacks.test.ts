// The cross-tenant attacks against a real `sealroom serve` process (not dev mode): a forged google.groups
// against a `group:` binding (KMS decrypt over REST and gRPC, a basic role), setIamPolicy on another tenant's
// service account, an issuer URI aimed at a loopback path, and a costly CEL condition at save and at exchange.
// Each is refused, while a separate process polls /healthz and records how long each answer took.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import { SignJWT } from 'jose';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { bearerRest, type Json } from '../support/rest.ts';
import { GROUP, KEY, setUpTenantA } from '../support/tenant-a.ts';

const VICTIM_SA = 'victim@tenant-a.iam.gserviceaccount.com';
const POOLS = '/v1/projects/tenant-b/locations/global/workloadIdentityPools';
/**
 * The bound: /healthz within 100 ms throughout. On a shared, oversubscribed machine the scheduler alone
 * delays a few answers past it whatever the server does, so it is held for 95% of polls; the slowest poll is
 * held to a second, which a stalled event loop (the bug: seconds per costly evaluation) exceeds.
 */
const HEALTHZ_BUDGET_MS = 100;
const HEALTHZ_SLOWEST_MS = 1000;

let server: ServerProcess;
let grpcPort = 0;
let internal: Server;
let internalUrl = '';
let internalConnections = 0;
let poller: ChildProcess;
let pollerOutput = '';
let tenantBNumber = '';
let ciphertext = '';
const tokens: Record<'admin' | 'alice' | 'carol' | 'mallory', string> = {
  admin: '',
  alice: '',
  carol: '',
  mallory: '',
};
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });

const { rest, ok } = bearerRest(() => server.url);

async function form(path: string, fields: Record<string, string>): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** An access token for a refresh token, as Google's libraries get one. */
async function accessTokenOf(refreshToken: string): Promise<string> {
  const res = await form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.access_token as string;
}

const audienceOf = (provider: string) =>
  `//iam.googleapis.com/projects/${tenantBNumber}/locations/global/workloadIdentityPools/b-pool/providers/${provider}`;

async function selfSigned(provider: string, issuer: string, key: KeyObject, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'mallory-workload', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'f1' })
    .setIssuer(issuer)
    .setAudience(audienceOf(provider))
    .setIssuedAt(now - 5)
    .setExpirationTime(now + 1800)
    .sign(key);
}

function exchange(provider: string, subjectToken: string) {
  return form('/v1/token', {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: audienceOf(provider),
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    subject_token: subjectToken,
  });
}

async function createProvider(id: string, fields: Record<string, unknown>) {
  return rest(tokens.mallory, 'POST', `${POOLS}/b-pool/providers?workloadIdentityPoolProviderId=${id}`, fields);
}

/** A KMS gRPC client over TLS with the deployment's CA, calling with `token`. */
function kmsOptions(token: string): never {
  return {
    apiEndpoint: '127.0.0.1',
    port: grpcPort,
    sslCreds: grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(readFileSync(join(server.stateDir, 'tls', 'ca.pem'))),
      grpc.credentials.createFromMetadataGenerator((_p, callback) => {
        const metadata = new grpc.Metadata();
        metadata.add('authorization', `Bearer ${token}`);
        callback(null, metadata);
      }),
    ),
    projectId: 'tenant-a',
    authClient: new OAuth2Client(),
  } as never;
}

const JWKS_JSON = JSON.stringify({
  keys: [{ ...forger.publicKey.export({ format: 'jwk' }), kid: 'f1', alg: 'RS256', use: 'sig' }],
});

/** Polls /healthz from its own process on a kept-alive connection until its stdin closes; prints the figures. */
const POLLER = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
let failures = 0;
let stopped = false;
process.stdin.on('end', () => { stopped = true; });
process.stdin.resume();
const once = () => new Promise((resolve) => {
  const started = performance.now();
  const req = http.get(process.argv[1], { agent, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) latencies.push(performance.now() - started); else failures++; resolve(); });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => { failures++; resolve(); });
});
(async () => {
  while (!stopped && latencies.length + failures < 20000) {
    await once();
    await new Promise((r) => setTimeout(r, 10));
  }
  latencies.sort((a, b) => a - b);
  const max = latencies[latencies.length - 1] ?? 0;
  const at = (q) => latencies[Math.floor(latencies.length * q)] ?? 0;
  console.log(JSON.stringify({ polls: latencies.length, failures, maxMs: max, p99Ms: at(0.99), p95Ms: at(0.95), medianMs: at(0.5) }));
  agent.destroy();
})();
`;

before(async () => {
  internal = createServer((_req, res) => res.end('{"secret":"internal"}'));
  internal.on('connection', () => internalConnections++);
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
  // Plain http to 127.0.0.1 is allow-listed, so only the address check stands between a tenant and loopback.
  server = await startServerProcess({ dev: false, env: { SEALROOM_OUTBOUND_HTTP_HOSTS: '127.0.0.1' } });
  grpcPort = Number(/gRPC TLS on port (\d+)/.exec(server.logs())?.[1]);
  assert.ok(grpcPort > 0, server.logs());

  // The administrator issues every tenant's credential; Carol is the only member of the managed group.
  const admin = JSON.parse(readFileSync(join(server.stateDir, 'admin-credential.json'), 'utf8'));
  tokens.admin = await accessTokenOf(admin.refresh_token);
  for (const name of ['alice', 'carol', 'mallory'] as const) {
    const issued = await ok(tokens.admin, 'POST', '/v1/admin/users', { email: `${name}@example.com` });
    tokens[name] = await accessTokenOf(issued.refreshToken);
  }
  await ok(tokens.admin, 'POST', '/v1/admin/groups', { email: GROUP });
  await ok(tokens.admin, 'POST', `/v1/admin/groups/${GROUP}:addMember`, { member: 'user:carol@example.com' });

  // Tenant A: a key whose decrypters, and a project whose viewers, are the group; and a service account.
  const { alice, mallory } = tokens;
  ciphertext = await setUpTenantA(ok, alice);
  await ok(alice, 'POST', '/v1/projects/tenant-a/serviceAccounts', { accountId: 'victim' });

  // Tenant B (Mallory): a pool whose providers trust Mallory's own key.
  tenantBNumber = (await ok(mallory, 'POST', '/v1/projects', { projectId: 'tenant-b' })).response.projectNumber;
  await ok(mallory, 'POST', `${POOLS}?workloadIdentityPoolId=b-pool`, {});
  // A warm server: the gRPC listener has served a TLS client and every route family once (first use loads code).
  const warm = new KeyManagementServiceClient(kmsOptions(tokens.alice));
  try {
    await warm.listKeyRings({ parent: 'projects/tenant-a/locations/global' });
  } finally {
    await warm.close();
  }
  // From here on, while the attacks run, another process asks /healthz every 10 ms.
  poller = spawn(process.execPath, ['-e', POLLER, `${server.url}/healthz`], { stdio: ['pipe', 'pipe', 'inherit'] });
  poller.stdout?.on('data', (chunk: Buffer) => (pollerOutput += chunk.toString()));
});

after(async () => {
  poller?.stdin?.end();
  if (poller && poller.exitCode === null) await new Promise((resolve) => poller.once('exit', resolve));
  const code = await server?.stop();
  server?.cleanup();
  internal?.closeAllConnections();
  await new Promise<void>((resolve) => internal?.close(() => resolve()));
  assert.equal(code, 0, 'graceful shutdown exits 0');
});

test('a constant google.groups from the attacker’s own pool is refused KMS decrypt over REST and gRPC, and the basic role', async () => {
  const created = await createProvider('forger', {
    oidc: { issuerUri: 'https://forger.example', jwksJson: JWKS_JSON },
    attributeMapping: { 'google.subject': 'assertion.sub', 'google.groups': `['${GROUP}']` },
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const exchanged = await exchange('forger', await selfSigned('forger', 'https://forger.example', forger.privateKey));
  assert.equal(exchanged.status, 200, JSON.stringify(exchanged.json));
  const forged = exchanged.json.access_token as string;

  const decrypt = await rest(forged, 'POST', `/v1/${KEY}:decrypt`, { ciphertext });
  assert.equal(decrypt.status, 403);
  assert.match(decrypt.json.error.message, /useToDecrypt.*\(or it may not exist\)/);
  assert.equal((await rest(forged, 'GET', '/v1/projects/tenant-a')).status, 403);
  assert.equal((await rest(forged, 'GET', '/v1/projects/tenant-a/locations/global/keyRings')).status, 403);

  const kms = (token: string) => new KeyManagementServiceClient(kmsOptions(token));
  const attacker = kms(forged);
  const member = kms(tokens.carol);
  try {
    const refused = (error: { code?: number }) => error.code === grpc.status.PERMISSION_DENIED;
    await assert.rejects(attacker.decrypt({ name: KEY, ciphertext: Buffer.from(ciphertext, 'base64') }), refused);
    await assert.rejects(attacker.listKeyRings({ parent: 'projects/tenant-a/locations/global' }), refused);
    // The binding itself works: the deployment-managed member decrypts, over gRPC and REST.
    const [plain] = await member.decrypt({ name: KEY, ciphertext: Buffer.from(ciphertext, 'base64') });
    assert.equal(Buffer.from(plain.plaintext as Uint8Array).toString(), 'secret of A');
  } finally {
    await attacker.close();
    await member.close();
  }
  assert.equal((await rest(tokens.carol, 'GET', '/v1/projects/tenant-a')).status, 200);
});

test('setIamPolicy on another tenant’s service account, named under the attacker’s project, is refused and writes nothing', async () => {
  const foreign = `/v1/projects/tenant-b/serviceAccounts/${VICTIM_SA}`;
  const set = await rest(tokens.mallory, 'POST', `${foreign}:setIamPolicy`, {
    policy: { bindings: [{ role: 'roles/iam.serviceAccountTokenCreator', members: ['user:mallory@example.com'] }] },
  });
  assert.equal(set.status, 403);
  assert.match(set.json.error.message, /\(or it may not exist\)/);
  for (const name of [foreign, `/v1/projects/-/serviceAccounts/${VICTIM_SA}`]) {
    const tested = await rest(tokens.mallory, 'POST', `${name}:testIamPermissions`, {
      permissions: ['iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.setIamPolicy'],
    });
    assert.deepEqual(tested, { status: 200, json: {} }, name);
  }
  const minted = await rest(tokens.mallory, 'POST', `/v1/projects/-/serviceAccounts/${VICTIM_SA}:generateAccessToken`, {
    scope: ['https://www.googleapis.com/auth/cloud-platform'],
  });
  assert.equal(minted.status, 403);
  const policy = await ok(tokens.alice, 'POST', `/v1/projects/tenant-a/serviceAccounts/${VICTIM_SA}:getIamPolicy`, {});
  assert.equal(JSON.stringify(policy).includes('mallory'), false, JSON.stringify(policy));
});

test('an issuer URI aimed at a loopback path is refused when saved, or never fetched at exchange', async () => {
  for (const [issuerUri, rule] of [
    [`${internalUrl}/admin?op=dump#`, /must not contain a query/],
    [`${internalUrl}/admin#`, /must not contain a fragment/],
  ] as const) {
    const created = await createProvider('aim-query', { oidc: { issuerUri, allowedAudiences: ['aud'] } });
    assert.equal(created.status, 400, issuerUri);
    assert.match(created.json.error.message, rule);
  }
  const issuer = `${internalUrl}/internal/admin`;
  const created = await createProvider('aim-path', {
    oidc: { issuerUri: issuer },
    attributeMapping: { 'google.subject': 'assertion.sub' },
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const refused = await exchange('aim-path', await selfSigned('aim-path', issuer, forger.privateKey));
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error, 'invalid_grant');
  assert.match(refused.json.error_description, /^The token's issuer is unavailable/);
  assert.equal(JSON.stringify(refused.json).includes('127.0.0.1'), false);
  assert.equal(internalConnections, 0, 'the loopback service was never connected to');
});

test('a costly condition is refused when saved, and one admitted but costly refuses exchanges without stalling the server', async () => {
  const digits = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
  const nested = `${digits(10)}.all(a,${digits(10)}.all(b,${digits(10)}.all(c,${digits(10)}.all(d,${digits(10)}.all(e,${digits(10)}.all(f,a+b+c+d+e+f>=0))))))`;
  const saved = await createProvider('nested', {
    oidc: { issuerUri: 'https://forger.example', jwksJson: JWKS_JSON },
    attributeMapping: { 'google.subject': 'assertion.sub' },
    attributeCondition: nested,
  });
  assert.equal(saved.status, 400);
  assert.match(saved.json.error.message, /estimated worst-case cost of \d+, above the limit of 1000000/);

  // Admitted by the estimate, yet hundreds of thousands of cost units on claims filling the size limit.
  const costly = `assertion.list.all(x, x in ${digits(40)}) && assertion.sub == 'nobody'`;
  const admitted = await createProvider('costly', {
    oidc: { issuerUri: 'https://forger.example', jwksJson: JWKS_JSON },
    attributeMapping: { 'google.subject': 'assertion.sub' },
    attributeCondition: costly,
  });
  assert.equal(admitted.status, 200, JSON.stringify(admitted.json));
  const token = await selfSigned('costly', 'https://forger.example', forger.privateKey, {
    list: Array.from({ length: 7800 }, () => 0),
  });
  // One exchange after another: each decision runs on a CEL worker thread, not on the event loop.
  for (let round = 0; round < 8; round++) {
    const result = await exchange('costly', token);
    assert.equal(result.status, 400, JSON.stringify(result.json));
    assert.equal(result.json.error, 'unauthorized_client');
  }
});

test('/healthz answered every poll throughout the attacks, 95% within 100 ms and none near a stall', async () => {
  poller.stdin?.end();
  if (poller.exitCode === null) await new Promise((resolve) => poller.once('exit', resolve));
  const figures = JSON.parse(pollerOutput) as { polls: number; failures: number; maxMs: number; p95Ms: number };
  console.log(`healthz during the attacks: ${JSON.stringify(figures)}`);
  assert.ok(figures.polls > 0);
  assert.equal(figures.failures, 0);
  assert.ok(figures.p95Ms < HEALTHZ_BUDGET_MS, `95th percentile of /healthz answers: ${figures.p95Ms.toFixed(1)} ms`);
  assert.ok(figures.maxMs < HEALTHZ_SLOWEST_MS, `slowest /healthz answer: ${figures.maxMs.toFixed(1)} ms`);
});
