// `/metrics` on `sealroom serve`: a Prometheus scrape after real traffic (REST, gRPC Pub/Sub, a KMS key use, a
// refused token exchange), parsed as Prometheus parses the text format, and closed to callers it should refuse.
import { TEST_DIR } from './pubsub-tls-env.ts';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PubSub } from '@google-cloud/pubsub';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';
import { OAuth2Client } from 'google-auth-library';
import { startDevTestServer } from '../support/dev-server.ts';
import { bearerRest } from '../support/rest.ts';

const PROJECT = 'metrics-project';
let server: RunningServer;
const { ok, rest } = bearerRest(() => server.url);

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The text exposition format (version 0.0.4): `# HELP`/`# TYPE` lines, then `name{l="v",…} value` samples. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function tokenFor(email: string): Promise<string> {
  const { credentials } = server.iam.deps;
  await credentials.ensureUser(email, 'dev');
  return (await credentials.issueAccessToken({ kind: 'user', principal: `user:${email}`, lifetimeMs: 3_600_000 }))
    .accessToken;
}

before(async () => {
  server = await startDevTestServer(TEST_DIR, { only: ['pubsub', 'kms', 'sts', 'compute'] });
});

after(async () => {
  await server.close();
  rmSync(TEST_DIR, { recursive: true, force: true });
});

test('a scrape counts requests per transport, route and code, exchanges, key uses, backlog and instances', async () => {
  const owner = await tokenFor('owner@example.com');
  await ok(owner, 'POST', '/v1/projects', { projectId: PROJECT });
  const topic = `projects/${PROJECT}/topics/words`;
  const subscription = `projects/${PROJECT}/subscriptions/counter`;
  await ok(owner, 'PUT', `/v1/${topic}`, {});
  await ok(owner, 'PUT', `/v1/${subscription}`, { topic });
  // Two messages over gRPC with the official client: the backlog of the subscription is 2, and the calls are gRPC samples.
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: owner, expiry_date: Date.now() + 3_600_000 });
  const pubsub = new PubSub({
    projectId: PROJECT,
    apiEndpoint: `127.0.0.1:${server.grpcPort}`,
    emulatorMode: false,
    authClient,
  });
  try {
    for (const word of ['alice', 'bob']) await pubsub.topic('words').publishMessage({ data: Buffer.from(word) });
  } finally {
    await pubsub.close();
  }
  const ring = `projects/${PROJECT}/locations/global/keyRings/kr1`;
  await ok(owner, 'POST', `/v1/projects/${PROJECT}/locations/global/keyRings?keyRingId=kr1`, {});
  await ok(owner, 'POST', `/v1/${ring}/cryptoKeys?cryptoKeyId=k1`, { purpose: 'ENCRYPT_DECRYPT' });
  const plaintext = Buffer.from('hi').toString('base64');
  // An owner may manage the key but not use it (as in Cloud KMS): one refused use, then one allowed.
  assert.equal((await rest(owner, 'POST', `/v1/${ring}/cryptoKeys/k1:encrypt`, { plaintext })).status, 403);
  await ok(owner, 'POST', `/v1/${ring}/cryptoKeys/k1:setIamPolicy`, {
    policy: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:owner@example.com'] }] },
  });
  await ok(owner, 'POST', `/v1/${ring}/cryptoKeys/k1:encrypt`, { plaintext });
  // A refused exchange, audited in the project its audience names.
  const refused = await fetch(`${server.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/projects/${PROJECT}/locations/global/workloadIdentityPools/absent-pool/providers/absent-provider`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      // A well-formed JWT that no key signed: refused at verification, after the provider lookup.
      subject_token: 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln',
    }),
  });
  assert.equal(refused.status, 400, await refused.clone().text());
  assert.equal((await rest(owner, 'GET', `/v1/projects/${PROJECT}/topics/absent`)).status, 404);

  const scrape = await fetch(`${server.url}/metrics`);
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const { samples, types } = parseExposition(await scrape.text());
  assert.equal(types.get('sealroom_requests_total'), 'counter');
  assert.equal(types.get('sealroom_request_duration_seconds'), 'histogram');
  const http = { transport: 'http', method: 'PUT', route: '/v1/{name=projects/*/topics/*}', code: '200' };
  assert.equal(sampleValue(samples, 'sealroom_requests_total', http), 1, 'the route template, not the topic name');
  assert.ok((sampleValue(samples, 'sealroom_requests_total', { transport: 'http', code: '404' }) ?? 0) >= 1);
  assert.equal(
    sampleValue(samples, 'sealroom_request_duration_seconds_count', http),
    1,
    'one latency observation per request',
  );
  const publish = { transport: 'grpc', method: 'google.pubsub.v1.Publisher/Publish', code: 'OK' };
  assert.ok((sampleValue(samples, 'sealroom_requests_total', publish) ?? 0) >= 1, 'gRPC calls are counted');
  assert.equal(sampleValue(samples, 'sealroom_token_exchanges_total', { outcome: 'refused' }), 1);
  assert.equal(sampleValue(samples, 'sealroom_token_exchanges_total', { outcome: 'granted' }), 0);
  assert.equal(sampleValue(samples, 'sealroom_kms_key_uses_total', { method: 'Encrypt', outcome: 'allowed' }), 1);
  assert.equal(sampleValue(samples, 'sealroom_kms_key_uses_total', { method: 'Encrypt', outcome: 'denied' }), 1);
  assert.equal(sampleValue(samples, 'sealroom_pubsub_backlog_messages', { subscription }), 2);
  assert.equal(sampleValue(samples, 'sealroom_instances', { status: 'RUNNING' }), 0);
  // Nothing secret in the text: no bearer token, no plaintext.
  const text = samples.map((s) => JSON.stringify(s)).join('\n');
  assert.ok(!text.includes(owner));
});

test('/metrics takes the configured bearer token from anywhere, and refuses a wrong one', async () => {
  const tokenFile = join(TEST_DIR, 'metrics-token');
  writeFileSync(tokenFile, 'scrape-secret-0123456789\n', { mode: 0o600 });
  const guarded = await startServer(
    ServerConfigSchema.parse({
      port: 0,
      grpcPort: -1,
      stateDir: join(TEST_DIR, 'guarded'),
      logLevel: 'silent',
      only: [],
      metricsBearerTokenFile: tokenFile,
    }),
    { logger: silentLogger },
  );
  try {
    const bare = await fetch(`${guarded.url}/metrics`);
    assert.equal(bare.status, 401);
    assert.match(await bare.text(), /metricsBearerTokenFile/);
    const wrong = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-x' } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${guarded.url}/metrics`, {
      headers: { authorization: 'Bearer scrape-secret-0123456789' },
    });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /^# HELP sealroom_/m);
  } finally {
    await guarded.close();
  }
  // A production server without the setting is closed even to loopback, and says what opens it.
  const closed = await startServer(
    ServerConfigSchema.parse({ port: 0, grpcPort: -1, stateDir: join(TEST_DIR, 'closed'), only: [] }),
    { logger: silentLogger },
  );
  try {
    const refused = await fetch(`${closed.url}/metrics`);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /SEALROOM_METRICS_BEARER_TOKEN_FILE/);
  } finally {
    await closed.close();
  }
});
