// Denied equals missing, systematically: a caller without permission walks every route family of `sealroom serve`
// (projects, logging, service accounts and keys, pools and providers, KMS, Secret Manager, Pub/Sub, registry,
// compute, verifier) and gets byte-identical answers — status, the headers that matter, body — for an existing
// resource, a missing sibling and a missing project.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createComputeModule, type HostAgent } from '@sealroom/compute';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, SERVICES, ServerConfigSchema, startServer } from '@sealroom/server';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-denied-'));
let server: RunningServer;
let owner = '';
let stranger = '';

/** Names that exist, and same-length names that do not; a route is asked with each. */
const EXISTING = {
  P: 'walk-proj',
  SA: 'walker-sa',
  KR: 'ring-one',
  K: 'key-one',
  S: 'secret-one',
  T: 'topic-one',
  SUB: 'sub-one',
  VM: 'vm-one',
  POOL: 'pool-one',
  PROV: 'prov-one',
  REPO: 'repo-one',
};
type Names = typeof EXISTING;
let uid = '';
let keyId = '';

/** A host that boots nothing: the walk needs instances to exist, not to run. */
const idleAgent: HostAgent = {
  powerOn: (_request, events) => events.booted(1, 'none'),
  powerOff: async () => {},
  exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
  discard: async () => {},
  isRunning: () => false,
  close: async () => {},
};

async function call(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function ok(method: string, path: string, body?: unknown) {
  const res = await call(owner, method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
  return JSON.parse(res.text || '{}');
}

before(async () => {
  server = await startServer(
    ServerConfigSchema.parse({ port: 0, grpcPort: -1, dev: true, stateDir: join(dir, 'state'), logLevel: 'silent' }),
    {
      logger: silentLogger,
      services: SERVICES.map((s) =>
        s.name === 'compute'
          ? { name: 'compute', factory: (ctx) => createComputeModule(ctx, { agent: idleAgent }) }
          : s,
      ),
    },
  );
  const { credentials } = server.iam.deps;
  for (const email of ['owner@example.com', 'stranger@example.com']) await credentials.ensureUser(email, 'dev');
  const token = async (email: string) =>
    (await credentials.issueAccessToken({ kind: 'user', principal: `user:${email}`, lifetimeMs: 3_600_000 }))
      .accessToken;
  owner = await token('owner@example.com');
  stranger = await token('stranger@example.com');
  const { P, SA, KR, K, S, T, SUB, VM, POOL, PROV, REPO } = EXISTING;
  await ok('POST', '/v1/projects', { projectId: P });
  const account = await ok('POST', `/v1/projects/${P}/serviceAccounts`, { accountId: SA });
  uid = account.uniqueId;
  keyId = (await ok('POST', `/v1/projects/-/serviceAccounts/${account.email}/keys`, {})).name.split('/').pop();
  await ok('POST', `/v1/projects/${P}/locations/global/keyRings?keyRingId=${KR}`, {});
  await ok('POST', `/v1/projects/${P}/locations/global/keyRings/${KR}/cryptoKeys?cryptoKeyId=${K}`, {
    purpose: 'ENCRYPT_DECRYPT',
  });
  await ok('POST', `/v1/projects/${P}/secrets?secretId=${S}`, { replication: { automatic: {} } });
  await ok('POST', `/v1/projects/${P}/secrets/${S}:addVersion`, { payload: { data: 'c2VjcmV0' } });
  await ok('PUT', `/v1/projects/${P}/topics/${T}`, {});
  await ok('PUT', `/v1/projects/${P}/subscriptions/${SUB}`, { topic: `projects/${P}/topics/${T}` });
  await ok('POST', `/v1/projects/${P}/locations/global/workloadIdentityPools?workloadIdentityPoolId=${POOL}`, {});
  await ok(
    'POST',
    `/v1/projects/${P}/locations/global/workloadIdentityPools/${POOL}/providers?workloadIdentityPoolProviderId=${PROV}`,
    { oidc: { issuerUri: 'https://issuer.example' } },
  );
  await ok('POST', `/v1/projects/${P}/locations/us/repositories?repositoryId=${REPO}`, { format: 'DOCKER' });
  await ok('POST', `/compute/v1/projects/${P}/zones/us-central1-a/instances`, {
    name: VM,
    serviceAccounts: [{ email: account.email, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
    metadata: { items: [{ key: 'tee-image-reference', value: `127.0.0.1:1/${P}/${REPO}/app:v1` }] },
    disks: [
      {
        boot: true,
        initializeParams: { sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space' },
      },
    ],
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every route family, with the names it takes; `{X}` is replaced by the value of name X. */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ['GET', '/v1/projects/{P}'],
  ['POST', '/v1/projects/{P}:getIamPolicy', {}],
  ['POST', '/v1/projects/{P}:setIamPolicy', { policy: { bindings: [] } }],
  ['POST', '/v1/projects/{P}/services:batchEnable', { serviceIds: ['cloudkms.googleapis.com'] }],
  ['POST', '/v1/projects/{P}/services/cloudkms.googleapis.com:enable', {}],
  ['GET', '/v1/projects/{P}/services'],
  ['GET', '/v1/projects/{P}/logs:verify'],
  ['POST', '/v2/entries:list', { resourceNames: ['projects/{P}'] }],
  ['POST', '/v2/entries:write', { entries: [{ logName: 'projects/{P}/logs/app', textPayload: 'x' }] }],
  // Service accounts and keys, by email under the project and under '-', and by unique id.
  ['GET', '/v1/projects/{P}/serviceAccounts'],
  ['POST', '/v1/projects/{P}/serviceAccounts', { accountId: 'another-sa' }],
  ['GET', '/v1/projects/{P}/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com'],
  ['GET', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com'],
  ['GET', '/v1/projects/{P}/serviceAccounts/{UID}'],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:disable', {}],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:enable', {}],
  ['DELETE', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com'],
  ['POST', '/v1/projects/{P}/serviceAccounts/{UID}:undelete', {}],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:getIamPolicy', {}],
  ['POST', '/v1/projects/{P}/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:setIamPolicy', { policy: {} }],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:generateAccessToken', { scope: ['x'] }],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com:generateIdToken', { audience: 'a' }],
  ['GET', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys'],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys', {}],
  ['GET', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys/{KEY}'],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys/{KEY}:disable', {}],
  ['POST', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys/{KEY}:enable', {}],
  ['DELETE', '/v1/projects/-/serviceAccounts/{SA}@{P}.iam.gserviceaccount.com/keys/{KEY}'],
  // Workload identity pools and providers.
  ['GET', '/v1/projects/{P}/locations/global/workloadIdentityPools'],
  ['GET', '/v1/projects/{P}/locations/global/workloadIdentityPools/{POOL}'],
  ['DELETE', '/v1/projects/{P}/locations/global/workloadIdentityPools/{POOL}'],
  ['GET', '/v1/projects/{P}/locations/global/workloadIdentityPools/{POOL}/providers/{PROV}'],
  ['PATCH', '/v1/projects/{P}/locations/global/workloadIdentityPools/{POOL}/providers/{PROV}', { displayName: 'x' }],
  // KMS.
  ['GET', '/v1/projects/{P}/locations/global/keyRings'],
  ['POST', '/v1/projects/{P}/locations/global/keyRings?keyRingId=ring-two', {}],
  ['GET', '/v1/projects/{P}/locations/global/keyRings/{KR}'],
  ['GET', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys'],
  ['GET', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}'],
  ['POST', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}:encrypt', { plaintext: 'eA==' }],
  ['POST', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}:decrypt', { ciphertext: 'eA==' }],
  ['GET', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}/cryptoKeyVersions'],
  ['GET', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}/cryptoKeyVersions/1'],
  ['POST', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}/cryptoKeyVersions/1:destroy', {}],
  ['POST', '/v1/projects/{P}/locations/global/keyRings/{KR}/cryptoKeys/{K}:getIamPolicy', {}],
  ['POST', '/v1/projects/{P}/locations/global/keyRings/{KR}:setIamPolicy', { policy: {} }],
  // Secret Manager.
  ['GET', '/v1/projects/{P}/secrets'],
  ['GET', '/v1/projects/{P}/secrets/{S}'],
  ['POST', '/v1/projects/{P}/secrets/{S}:addVersion', { payload: { data: 'eA==' } }],
  ['GET', '/v1/projects/{P}/secrets/{S}/versions'],
  ['GET', '/v1/projects/{P}/secrets/{S}/versions/1:access'],
  ['DELETE', '/v1/projects/{P}/secrets/{S}'],
  ['POST', '/v1/projects/{P}/secrets/{S}:getIamPolicy', {}],
  // Pub/Sub.
  ['GET', '/v1/projects/{P}/topics'],
  ['GET', '/v1/projects/{P}/topics/{T}'],
  ['POST', '/v1/projects/{P}/topics/{T}:publish', { messages: [{ data: 'eA==' }] }],
  ['GET', '/v1/projects/{P}/topics/{T}/subscriptions'],
  ['DELETE', '/v1/projects/{P}/topics/{T}'],
  ['GET', '/v1/projects/{P}/subscriptions/{SUB}'],
  ['POST', '/v1/projects/{P}/subscriptions/{SUB}:pull', { maxMessages: 1 }],
  ['POST', '/v1/projects/{P}/subscriptions/{SUB}:acknowledge', { ackIds: ['x'] }],
  ['POST', '/v1/projects/{P}/topics/{T}:setIamPolicy', { policy: {} }],
  // Registry (repository API; the /v2 routes have their own walk in the registry package).
  ['GET', '/v1/projects/{P}/locations/us/repositories/{REPO}'],
  ['GET', '/v2/{P}/{REPO}/app/tags/list'],
  // Compute.
  ['GET', '/compute/v1/projects/{P}'],
  ['GET', '/compute/v1/projects/{P}/zones/us-central1-a'],
  ['GET', '/compute/v1/projects/{P}/zones/us-central1-a/instances'],
  ['GET', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}'],
  ['POST', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}/stop'],
  ['POST', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}/reset'],
  ['GET', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}/serialPort'],
  ['POST', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}:exec', { command: ['true'] }],
  ['DELETE', '/compute/v1/projects/{P}/zones/us-central1-a/instances/{VM}'],
  // Verifier.
  ['POST', '/v1/projects/{P}/locations/us-central1/challenges', {}],
];

/** `names` with one name (or the project) swapped for a same-length one that does not exist. */
function missing(key: keyof Names | 'UID' | 'KEY'): Record<string, string> {
  const names: Record<string, string> = { ...EXISTING, UID: uid, KEY: keyId };
  const value = names[key] as string;
  names[key] = key === 'UID' ? `${value.slice(0, -3)}000` : key === 'KEY' ? 'f'.repeat(40) : `${value.slice(0, -1)}z`;
  return names;
}

function fill(text: string, names: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (_, k: string) => names[k] ?? `{${k}}`);
}

async function answer(route: (typeof ROUTES)[number], names: Record<string, string>): Promise<string> {
  const [method, path, body] = route;
  const res = await call(
    stranger,
    method,
    fill(path, names),
    body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body), names)),
  );
  let text = res.text;
  // The names as asked are put back to placeholders, so only what differs beyond them counts.
  for (const [k, v] of Object.entries(names).sort((a, b) => b[1].length - a[1].length))
    text = text.replaceAll(v, `{${k}}`);
  const headers = ['content-type', 'www-authenticate', 'docker-distribution-api-version']
    .map((h) => `${h}: ${res.headers.get(h)}`)
    .join('; ');
  return `${res.status} | ${headers} | ${text}`;
}

test('a caller without permission gets byte-identical answers for existing and missing resources on every route family', async () => {
  const existingNames = { ...EXISTING, UID: uid, KEY: keyId };
  for (const route of ROUTES) {
    const expected = await answer(route, existingNames);
    assert.match(expected, /^(403|401) /, `${route[0]} ${route[1]} must be refused: ${expected}`);
    const used = [...new Set([...route[1].matchAll(/\{(\w+)\}/g)].map((m) => m[1] as keyof Names))];
    for (const key of used) {
      assert.equal(await answer(route, missing(key)), expected, `${route[0]} ${route[1]} with a missing {${key}}`);
    }
  }
  // Nothing the stranger asked for was changed.
  const account = await call(
    owner,
    'GET',
    `/v1/projects/-/serviceAccounts/${EXISTING.SA}@${EXISTING.P}.iam.gserviceaccount.com`,
  );
  assert.equal(JSON.parse(account.text).disabled, false);
  assert.equal((await call(owner, 'GET', `/v1/projects/${EXISTING.P}/secrets/${EXISTING.S}`)).status, 200);
});
