// Three `sealroom serve` replicas on one PostgreSQL database: KMS and IAM requests spread round-robin, one
// replica killed with SIGKILL under load, nothing acknowledged lost, the audit chain intact; and two replicas
// racing on one IAM policy etag, of which exactly one wins.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestPostgres, type TestPostgres } from '@sealroom/postgres/testing';
import type { Json } from '../support/rest.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const PROJECT = 'replicas-e2e';
const KEY = `projects/${PROJECT}/locations/global/keyRings/kr1/cryptoKeys/k1`;
/** Each worker's share of the load; the kill happens once a third of all of it is acknowledged. */
const OPERATIONS_PER_WORKER = 30;
const WORKERS = 4;

const skip = process.env.SEALROOM_TEST_POSTGRES === '0' ? 'SEALROOM_TEST_POSTGRES=0: no PostgreSQL' : false;
const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-replicas-'));
let database: TestPostgres | undefined;
const replicas: ServerProcess[] = [];
const killed = new Set<ServerProcess>();
let adminToken = '';
let aliceToken = '';

after(async () => {
  for (const r of replicas) {
    await r.stop('SIGKILL');
    r.cleanup();
  }
  await database?.drop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** One call to one replica; undefined when the replica is unreachable (killed), which the caller retries. */
async function call(replica: ServerProcess, token: string, method: string, path: string, body?: unknown) {
  try {
    const res = await fetch(`${replica.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  } catch {
    return undefined;
  }
}

let next = 0;
/**
 * A client's view: the call goes to the next replica in turn, and on a connection failure (a killed
 * replica) or a 503 is retried on the others, as a client behind a load balancer is.
 */
async function roundRobin(token: string, method: string, path: string, body?: unknown): Promise<Json> {
  for (let attempt = 0; attempt < 3 * replicas.length; attempt++) {
    const live = replicas.filter((r) => !killed.has(r));
    const replica = live[next++ % live.length] as ServerProcess;
    const res = await call(replica, token, method, path, body);
    if (res === undefined || res.status === 503) continue;
    assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  }
  throw new Error(`${method} ${path}: no replica answered`);
}

async function accessTokenOf(replica: ServerProcess, refreshToken: string): Promise<string> {
  const res = await fetch(`${replica.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  const json = (await res.json()) as Json;
  assert.equal(res.status, 200, JSON.stringify(json));
  return json.access_token as string;
}

before(async () => {
  if (skip) return;
  database = await createTestPostgres();
  const start = () =>
    startServerProcess({
      dev: false,
      stateDir,
      extraArgs: ['--database-url', database?.url ?? '', '--only', 'kms', '--grpc-port', '-1'],
      readyTimeoutMs: 120_000,
    });
  // The first replica initialises the shared state (root key, CA, administrator); the others join it.
  replicas.push(await start());
  replicas.push(...(await Promise.all([start(), start()])));
  const admin = JSON.parse(readFileSync(join(stateDir, 'admin-credential.json'), 'utf8'));
  adminToken = await accessTokenOf(replicas[1] as ServerProcess, admin.refresh_token);
  const alice = await roundRobin(adminToken, 'POST', '/v1/admin/users', { email: 'alice@example.com' });
  aliceToken = await accessTokenOf(replicas[2] as ServerProcess, alice.refreshToken);
  await roundRobin(aliceToken, 'POST', '/v1/projects', { projectId: PROJECT });
  await roundRobin(aliceToken, 'POST', `/v1/projects/${PROJECT}/locations/global/keyRings?keyRingId=kr1`, {});
  await roundRobin(
    aliceToken,
    'POST',
    `/v1/projects/${PROJECT}/locations/global/keyRings/kr1/cryptoKeys?cryptoKeyId=k1`,
    { purpose: 'ENCRYPT_DECRYPT' },
  );
  const policy = await roundRobin(aliceToken, 'POST', `/v1/${KEY}:getIamPolicy`, {});
  await roundRobin(aliceToken, 'POST', `/v1/${KEY}:setIamPolicy`, {
    policy: {
      etag: policy.etag,
      bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:alice@example.com'] }],
    },
  });
});

test('two replicas racing on one IAM policy etag: exactly one wins', { skip }, async () => {
  const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
  for (let round = 0; round < 5; round++) {
    const current = (await call(c, aliceToken, 'POST', `/v1/${KEY}:getIamPolicy`, {}))?.json ?? {};
    const write = (replica: ServerProcess, member: string) =>
      call(replica, aliceToken, 'POST', `/v1/${KEY}:setIamPolicy`, {
        policy: { etag: current.etag, bindings: [...current.bindings, { role: 'roles/viewer', members: [member] }] },
      });
    const results = await Promise.all([write(a, `user:a${round}@example.com`), write(b, `user:b${round}@example.com`)]);
    const statuses = results.map((r) => r?.status).sort();
    assert.deepEqual(statuses, [200, 409], JSON.stringify(results.map((r) => r?.json)));
    const winner = results.find((r) => r?.status === 200)?.json ?? {};
    const stored = (await call(c, aliceToken, 'POST', `/v1/${KEY}:getIamPolicy`, {}))?.json ?? {};
    assert.equal(stored.etag, winner.etag, 'the stored policy is the winner’s');
  }
});

test('a replica killed with SIGKILL under round-robin load loses nothing acknowledged', { skip }, async () => {
  const acknowledged: { plaintext: string; ciphertext: string }[] = [];
  const versions: string[] = [];
  let done = 0;
  const victim = replicas[1] as ServerProcess;
  const total = WORKERS * OPERATIONS_PER_WORKER;
  const killWhen = Math.floor(total / 3);
  let killing: Promise<unknown> | undefined;
  const worker = async (w: number) => {
    for (let i = 0; i < OPERATIONS_PER_WORKER; i++) {
      if (i % 10 === 9) {
        const version = await roundRobin(aliceToken, 'POST', `/v1/${KEY}/cryptoKeyVersions`, {});
        versions.push(version.name as string);
      } else {
        const plaintext = Buffer.from(`worker ${w} message ${i}`).toString('base64');
        const encrypted = await roundRobin(aliceToken, 'POST', `/v1/${KEY}:encrypt`, { plaintext });
        const decrypted = await roundRobin(aliceToken, 'POST', `/v1/${KEY}:decrypt`, {
          ciphertext: encrypted.ciphertext,
        });
        assert.equal(decrypted.plaintext, plaintext);
        acknowledged.push({ plaintext, ciphertext: encrypted.ciphertext as string });
      }
      if (++done === killWhen) {
        killed.add(victim);
        killing = victim.stop('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.equal(await killing, null, 'the replica was killed, not stopped');
  assert.equal(done, total);

  // Every acknowledged ciphertext decrypts on each surviving replica; every created version is listed.
  for (const replica of replicas.filter((r) => !killed.has(r))) {
    for (const { plaintext, ciphertext } of acknowledged) {
      const res = await call(replica, aliceToken, 'POST', `/v1/${KEY}:decrypt`, { ciphertext });
      assert.equal(res?.json.plaintext, plaintext);
    }
    const listed = await call(replica, aliceToken, 'GET', `/v1/${KEY}/cryptoKeyVersions?pageSize=1000`);
    const all = ((listed?.json.cryptoKeyVersions ?? []) as Json[]).map((v) => v.name as string);
    const names = new Set(all);
    for (const name of versions) assert.ok(names.has(name), `${name} was acknowledged and is listed`);
    assert.equal(names.size, all.length, 'no version is listed twice');
    // A create that reached the killed replica may have committed without its answer reaching the client,
    // which then retried elsewhere: at least once, as Google's API promises, never lost.
    assert.ok(names.size >= versions.length + 1, 'the first version and each acknowledged one');
  }

  // The project's audit chain, appended to by three replicas at once, verifies end to end.
  const verified = await roundRobin(aliceToken, 'GET', `/v1/projects/${PROJECT}/logs:verify`);
  assert.equal(verified.ok, true, JSON.stringify(verified));
  assert.ok(
    verified.entries >= 2 * acknowledged.length + versions.length,
    `every acknowledged call is audited: ${verified.entries} entries`,
  );
});
