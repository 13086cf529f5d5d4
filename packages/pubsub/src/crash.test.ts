import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { openSqliteDatabase } from '@sealroom/core';
import { openNatsPubsubStore } from './store-nats.ts';
import {
  createTestPubsub,
  decode,
  NATS_TEST_URL,
  skipReason,
  TEST_BACKENDS,
  type TestBackend,
  type TestPubsub,
  text,
} from './testing.ts';

const SERVER = join(import.meta.dirname, 'test-server.ts');
const NATS_SERVER = '/usr/sbin/nats-server';

function startServer(
  dbPath: string,
  backend: TestBackend,
  port = 0,
  natsUrl = NATS_TEST_URL,
): Promise<{ child: ChildProcess; port: number }> {
  // Real deadlines (time scale 1), as a deployment runs them.
  const child = spawn(process.execPath, [SERVER, dbPath, String(port), backend, natsUrl, '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve({ child, port: JSON.parse(chunk.toString()).port }));
  });
}

function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function emulatorClient(port: number): PubSub {
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${port}`;
  const pubsub = new PubSub({ projectId: 'p1' });
  delete process.env.PUBSUB_EMULATOR_HOST;
  return pubsub;
}

/** Deletes the streams the child servers created in NATS (their records are in the SQLite file). */
async function dropNatsState(dbPath: string, topics: readonly string[], subscriptions: readonly string[]) {
  const db = openSqliteDatabase({ path: dbPath });
  const store = await openNatsPubsubStore({ url: NATS_TEST_URL, db });
  for (const s of subscriptions) await store.deleteSubscription(s);
  for (const t of topics) await store.deleteTopic(t);
  await store.close();
  await db.close();
}

/** Collects deliveries of `subscription` through each client until every acknowledged publish arrived. */
function consumeAll(
  clients: readonly PubSub[],
  subscription: string,
  acknowledged: Set<string>,
  settled: () => boolean,
  onMessage: (delivered: Map<string, number>) => void,
) {
  const delivered = new Map<string, number>();
  const subs = clients.map((c) => c.subscription(subscription, { flowControl: { maxMessages: 200 } }));
  let check = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out: ${[...acknowledged].filter((id) => !delivered.has(id)).length} missing`)),
      120_000,
    );
    check = () => {
      if (settled() && [...acknowledged].every((id) => delivered.has(id))) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const sub of subs) {
      sub.on('error', () => {});
      sub.on('message', (m: Message) => {
        delivered.set(m.id, (delivered.get(m.id) ?? 0) + 1);
        m.ack();
        onMessage(delivered);
        check();
      });
    }
  });
  return { delivered, done, check: () => check(), subs };
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] kill -9 of the server mid-consumption loses no acknowledged publish and redelivers every unacked message`, {
    skip: skipReason(backend),
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pubsub-crash-'));
    const dbPath = join(dir, 'state.db');
    let server = await startServer(dbPath, backend);
    const port = server.port;
    const pubsub = emulatorClient(port);
    const [topic] = await pubsub.createTopic('crash-topic');
    await topic.createSubscription('crash-sub', { ackDeadlineSeconds: 10 });
    const publisher = pubsub.topic('crash-topic', { batching: { maxMessages: 100, maxMilliseconds: 5 } });

    const TOTAL = 2000;
    const acknowledged = new Set<string>();
    await Promise.all(
      Array.from({ length: TOTAL / 2 }, (_, i) =>
        publisher.publishMessage({ data: Buffer.from(`m${i}`) }).then((id) => acknowledged.add(id)),
      ),
    );
    const inFlight: Promise<unknown>[] = [];
    let settled = false;
    let killed = false;
    let restarted: Promise<void> | undefined;
    const run = consumeAll(
      [pubsub],
      'crash-sub',
      acknowledged,
      () => settled,
      (delivered) => {
        if (killed || delivered.size < TOTAL / 4) return;
        killed = true;
        // Keep publishing while the server dies: only publishes the server acknowledged must survive.
        for (let i = TOTAL / 2; i < TOTAL; i++) {
          inFlight.push(
            publisher.publishMessage({ data: Buffer.from(`m${i}`) }).then(
              (id) => acknowledged.add(id),
              () => {},
            ),
          );
        }
        restarted = (async () => {
          await new Promise((r) => setTimeout(r, 20));
          await killHard(server.child);
          server = await startServer(dbPath, backend, port);
          await Promise.all(inFlight);
          settled = true;
          run.check();
        })();
      },
    );
    await run.done;
    await restarted;
    const missing = [...acknowledged].filter((id) => !run.delivered.has(id));
    const duplicates = [...run.delivered.values()].filter((n) => n > 1).length;
    console.log(
      `[${backend}] crash test: ${acknowledged.size} publishes acknowledged, ${run.delivered.size} distinct delivered, ${missing.length} lost, ${duplicates} redelivered`,
    );
    assert.equal(missing.length, 0);
    for (const s of run.subs) await s.close();
    await pubsub.close();
    await killHard(server.child);
    if (backend === 'nats') {
      await dropNatsState(dbPath, ['projects/p1/topics/crash-topic'], ['projects/p1/subscriptions/crash-sub']);
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

test('[nats] two replicas on one NATS: the one that dies abruptly loses nothing acknowledged; the other delivers its leases', {
  skip: skipReason('nats'),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pubsub-replicas-'));
  const dbPath = join(dir, 'state.db');
  const a = await startServer(dbPath, 'nats');
  const b = await startServer(dbPath, 'nats');
  const viaA = emulatorClient(a.port);
  const viaB = emulatorClient(b.port);
  const [topic] = await viaA.createTopic('replica-topic');
  await topic.createSubscription('replica-sub', { ackDeadlineSeconds: 10 });
  const publishers = [viaA, viaB].map((c) =>
    c.topic('replica-topic', { batching: { maxMessages: 50, maxMilliseconds: 5 } }),
  );
  const TOTAL = 1000;
  const acknowledged = new Set<string>();
  const publishHalf = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) =>
      (publishers[(from + k) % 2] as (typeof publishers)[number])
        .publishMessage({ data: Buffer.from(`r${from + k}`) })
        .then(
          (id) => acknowledged.add(id),
          () => {},
        ),
    );
  await Promise.all(publishHalf(0, TOTAL / 2));
  assert.equal(acknowledged.size, TOTAL / 2, 'both replicas answer publishes');
  let settled = false;
  let killed: Promise<void> | undefined;
  const run = consumeAll(
    [viaA, viaB],
    'replica-sub',
    acknowledged,
    () => settled,
    (delivered) => {
      if (killed || delivered.size < TOTAL / 4) return;
      // Replica A dies with leases outstanding and publishes in flight through it.
      const inFlight = publishHalf(TOTAL / 2, TOTAL);
      killed = (async () => {
        await killHard(a.child);
        await Promise.all(inFlight);
        settled = true;
        run.check();
      })();
    },
  );
  await run.done;
  await killed;
  const missing = [...acknowledged].filter((id) => !run.delivered.has(id));
  console.log(
    `replica test: ${acknowledged.size} publishes acknowledged, ${run.delivered.size} distinct delivered, ${missing.length} lost`,
  );
  assert.equal(missing.length, 0);
  assert.ok(acknowledged.size > TOTAL / 2, 'publishes through the surviving replica kept succeeding');
  for (const s of run.subs) await s.close();
  await Promise.all([viaA.close(), viaB.close()]);
  await killHard(b.child);
  await dropNatsState(dbPath, ['projects/p1/topics/replica-topic'], ['projects/p1/subscriptions/replica-sub']);
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the port accepts connections (polled, with a deadline). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function startNats(port: number, storeDir: string): ChildProcess {
  return spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
}

async function pullAll(t: TestPubsub, sub: string, want: (seen: Map<string, number>) => boolean) {
  const seen = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  while (!want(seen)) {
    if (Date.now() > deadline) throw new Error(`only ${seen.size} messages came back`);
    try {
      const batch = await t.service.pull(t.admin, sub, 100, false);
      for (const r of batch) seen.set(decode(r.message.data), (seen.get(decode(r.message.data)) ?? 0) + 1);
      if (batch.length > 0)
        await t.service.acknowledge(
          t.admin,
          sub,
          batch.map((r) => r.ackId),
        );
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100)); // NATS reconnecting
    }
  }
  return seen;
}

test('[nats] a NATS restart (kill -9) keeps every acknowledged publish; publishing resumes once it is back', {
  skip: skipReason('nats'),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pubsub-nats-restart-'));
  const port = await freePort();
  let nats = startNats(port, join(dir, 'jetstream'));
  try {
    await waitForPort(port);
    const t = await createTestPubsub({ backend: 'nats', natsUrl: `nats://127.0.0.1:${port}` });
    const T = 'projects/p1/topics/restart-topic';
    const S = 'projects/p1/subscriptions/restart-sub';
    await t.service.createTopic(t.admin, T, {});
    await t.service.createSubscription(t.admin, S, { topic: T, ackDeadlineSeconds: 600 });
    const before = Array.from({ length: 300 }, (_, i) => `before-${i}`);
    for (let i = 0; i < before.length; i += 100) {
      await t.service.publish(
        t.admin,
        T,
        before.slice(i, i + 100).map((d) => ({ data: text(d), attributes: {}, orderingKey: '' })),
      );
    }
    // Half of them consumed and acknowledged before the crash.
    const first = await pullAll(t, S, (seen) => seen.size >= 150);
    await killHard(nats);
    nats = startNats(port, join(dir, 'jetstream'));
    await waitForPort(port);
    const after = Array.from({ length: 100 }, (_, i) => `after-${i}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await t.service.publish(
          t.admin,
          T,
          after.map((d) => ({ data: text(d), attributes: {}, orderingKey: '' })),
        );
        break;
      } catch (error) {
        assert.equal((error as { status?: string }).status, 'UNAVAILABLE', 'a publish NATS cannot take is refused');
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const rest = [...before.filter((d) => !first.has(d)), ...after];
    const second = await pullAll(t, S, (seen) => rest.every((d) => seen.has(d)));
    const again = [...first.keys()].filter((d) => second.has(d)).length;
    console.log(`NATS restart: ${first.size} acked before, ${rest.length} delivered after, ${again} acked ones again`);
    assert.ok(rest.every((d) => second.has(d)));
    await t.close();
  } finally {
    await killHard(nats);
    rmSync(dir, { recursive: true, force: true });
  }
});
