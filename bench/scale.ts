// Benchmark: KMS decrypts per second and Pub/Sub end-to-end messages per second through `sealroom serve` with one
// and with three replicas, on SQLite and on PostgreSQL (Pub/Sub: on PostgreSQL with NATS JetStream), next to a
// bare PostgreSQL round trip (SELECT 1 on a pool) and a bare JetStream publish + pull-consume + ack rate measured
// in the same run. The load comes from a separate process that spreads calls round-robin over the replicas, so
// the client is not the server's bottleneck; every replica is a real `sealroom serve` child process. Pub/Sub's
// load is the unmodified @google-cloud/pubsub client over gRPC TLS as the admin, publishing to every replica and
// pulling (StreamingPull) from every replica.
// Run: npm exec -- node bench/scale.ts [seconds-per-phase] [concurrency] [pubsub-messages]
// PostgreSQL: SEALROOM_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), trust auth.
// NATS: SEALROOM_TEST_NATS_URL (default nats://127.0.0.1:4222), with JetStream.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPostgres } from '@sealroom/postgres/testing';
import { openPostgresDatabase } from '@sealroom/postgres';
import { dropNatsStreamsOf } from '@sealroom/pubsub/testing';
import { bareJetStreamRate } from './lib/jetstream.ts';
import { runPubsubLoad } from './lib/pubsub-load.ts';
import pg from 'pg';

const SECONDS = Number(process.argv[2] ?? 5);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const MESSAGES = Number(process.argv[4] ?? 10_000);
const BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'sealroom.js');
const KEY = 'projects/bench-scale/locations/global/keyRings/kr/cryptoKeys/k';
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface ReplicaOptions {
  readonly only: 'kms' | 'pubsub';
  readonly databaseUrl?: string | undefined;
  /** `nats://…` for Pub/Sub on JetStream; the server's database otherwise. */
  readonly pubsubBackend?: string | undefined;
}

interface Replica {
  readonly url: string;
  /** `127.0.0.1:PORT` of the gRPC TLS listener, when the replica runs Pub/Sub. */
  readonly grpcTarget: string;
}

async function startReplica(stateDir: string, options: ReplicaOptions): Promise<Replica> {
  const port = await freePort();
  const grpcPort = options.only === 'pubsub' ? await freePort() : -1;
  const args = [BIN, 'serve', '--port', String(port), '--grpc-port', String(grpcPort), '--state-dir', stateDir];
  args.push('--only', options.only, '--log-level', 'error');
  if (options.databaseUrl) args.push('--database-url', options.databaseUrl);
  if (options.pubsubBackend) args.push('--pubsub-backend', options.pubsubBackend);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await fetch(`${url}/readyz`).catch(() => undefined))?.ok) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('a replica did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, grpcTarget: `127.0.0.1:${grpcPort}` };
}

/** `replicas` replicas on one state directory (the first initialises it), and the admin's access token. */
async function startReplicas(
  stateDir: string,
  replicas: number,
  options: ReplicaOptions,
): Promise<{ started: Replica[]; token: string }> {
  const started = [await startReplica(stateDir, options)];
  for (let i = 1; i < replicas; i++) started.push(await startReplica(stateDir, options));
  const admin = JSON.parse(readFileSync(join(stateDir, 'admin-credential.json'), 'utf8'));
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: admin.refresh_token });
  const tokenRes = await fetch(`${started[0]?.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { started, token: ((await tokenRes.json()) as { access_token: string }).access_token };
}

const loadAverage = () => `load ${loadavg()[0]?.toFixed(1)}`;

async function call(url: string, token: string, path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The load generator's own process: decrypt calls, round-robin over `urls`, for SECONDS. */
const LOAD = `
const [urls, token, key, ciphertext, seconds, concurrency] = JSON.parse(process.argv[1]);
const body = JSON.stringify({ ciphertext });
const headers = { authorization: 'Bearer ' + token, 'content-type': 'application/json' };
let next = 0, done = 0, failed = 0;
const deadline = performance.now() + seconds * 1000;
const worker = async () => {
  while (performance.now() < deadline) {
    const url = urls[next++ % urls.length];
    try {
      const res = await fetch(url + '/v1/' + key + ':decrypt', { method: 'POST', headers, body });
      await res.arrayBuffer();
      res.ok ? done++ : failed++;
    } catch { failed++; }
  }
};
const started = performance.now();
Promise.all(Array.from({ length: concurrency }, worker)).then(() =>
  console.log(JSON.stringify({ done, failed, seconds: (performance.now() - started) / 1000 })));
`;

async function load(urls: string[], token: string, ciphertext: string): Promise<{ rate: number; failed: number }> {
  const args = JSON.stringify([urls, token, KEY, ciphertext, SECONDS, CONCURRENCY]);
  const child = spawn(process.execPath, ['-e', LOAD, args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as { done: number; failed: number; seconds: number };
  return { rate: result.done / result.seconds, failed: result.failed };
}

async function measure(name: string, replicas: number, databaseUrl: string | undefined): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-bench-scale-'));
  try {
    const { started, token } = await startReplicas(stateDir, replicas, { only: 'kms', databaseUrl });
    const urls = started.map((r) => r.url);
    const first = urls[0] as string;
    await call(first, token, '/v1/projects', { projectId: 'bench-scale' });
    await call(first, token, '/v1/projects/bench-scale/locations/global/keyRings?keyRingId=kr', {});
    await call(first, token, '/v1/projects/bench-scale/locations/global/keyRings/kr/cryptoKeys?cryptoKeyId=k', {
      purpose: 'ENCRYPT_DECRYPT',
    });
    const policy = await call(first, token, `/v1/${KEY}:getIamPolicy`, {});
    await call(first, token, `/v1/${KEY}:setIamPolicy`, {
      policy: {
        etag: policy.etag,
        bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:admin@sealroom.internal'] }],
      },
    });
    const { ciphertext } = await call(first, token, `/v1/${KEY}:encrypt`, {
      plaintext: Buffer.from('x'.repeat(1024)).toString('base64'),
    });
    await load(urls, token, ciphertext as string); // warm-up
    const { rate, failed } = await load(urls, token, ciphertext as string);
    console.log(`${name.padEnd(36)} ${rate.toFixed(0).padStart(8)} decrypts/s  (${failed} failed; ${loadAverage()})`);
  } finally {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * Pub/Sub end to end through `replicas` replicas: the load process publishes MESSAGES 1 KiB messages round-robin
 * over them and consumes them with a StreamingPull subscriber on each. On PostgreSQL, the JetStream streams the
 * run's records name are deleted afterwards, even when the worker could not delete its topic.
 */
async function measurePubsub(name: string, replicas: number, natsUrl: string | undefined): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-bench-scale-'));
  const database = natsUrl ? await createTestPostgres() : undefined;
  try {
    const options = { only: 'pubsub', databaseUrl: database?.url, pubsubBackend: natsUrl } as const;
    const { started, token } = await startReplicas(stateDir, replicas, options);
    await call(started[0]?.url as string, token, '/v1/projects', { projectId: 'bench-scale' });
    const result = await runPubsubLoad({
      targets: started.map((r) => r.grpcTarget),
      caPath: join(stateDir, 'tls', 'ca.pem'),
      token,
      project: 'bench-scale',
      topic: `bench-scale-${process.pid}`,
      messages: MESSAGES,
      timeoutMs: 600_000,
    });
    console.log(
      `${name.padEnd(36)} ${result.rate.toFixed(0).padStart(8)} msgs/s      (${MESSAGES} in ${result.seconds.toFixed(1)} s, ${result.duplicates} redelivered; ${loadAverage()})`,
    );
  } finally {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
    if (database) {
      const db = await openPostgresDatabase({ url: database.url, maxConnections: 1 });
      await dropNatsStreamsOf(db, natsUrl)
        .catch(() => 0)
        .finally(() => db.close());
      await database.drop();
    }
  }
}

/** The floor every PostgreSQL-backed request stands on: one pooled round trip, at the same concurrency. */
async function bareRoundTrips(url: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await pool.query('SELECT 1');
        done++;
      }
    }),
  );
  await pool.end();
  return done / ((performance.now() - started) / 1000);
}

console.log(
  `bench/scale: ${SECONDS}s per phase, ${CONCURRENCY} concurrent decrypts from a separate load process, 1 KiB plaintext, ${MESSAGES} Pub/Sub messages of 1 KiB, loopback, ${availableParallelism()} CPUs`,
);
const database = await createTestPostgres();
try {
  const bare = await bareRoundTrips(database.url);
  console.log(`${'bare PostgreSQL SELECT 1 (pool of 10)'.padEnd(36)} ${bare.toFixed(0).padStart(8)} round trips/s`);
  const natsUrl = process.env.SEALROOM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  const jetstream = await bareJetStreamRate(natsUrl, 20_000, 120_000);
  console.log(`${'bare JetStream publish+consume+ack'.padEnd(36)} ${jetstream.toFixed(0).padStart(8)} msgs/s (1 KiB)`);
  await measure('KMS SQLite, 1 replica', 1, undefined);
  await measure('KMS PostgreSQL, 1 replica', 1, database.url);
  const three = await createTestPostgres();
  try {
    await measure('KMS PostgreSQL, 3 replicas', 3, three.url);
  } finally {
    await three.drop();
  }
  await measurePubsub('Pub/Sub SQLite, 1 replica', 1, undefined);
  await measurePubsub('Pub/Sub PostgreSQL+NATS, 1 replica', 1, natsUrl);
  await measurePubsub('Pub/Sub PostgreSQL+NATS, 3 replicas', 3, natsUrl);
} finally {
  for (const child of children) child.kill('SIGKILL');
  await database.drop();
}
