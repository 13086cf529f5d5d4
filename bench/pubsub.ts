// Benchmark: Pub/Sub messages per second published and consumed end to end (1 KiB messages, batches),
// with p50/p99 delivery latency, next to the raw insert+delete rate of the same SQLite store, in one run.
// Run: npm exec -- node bench/pubsub.ts [messages] [batch] [publishers] [grpc-messages]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { openSqliteDatabase, type SqlValue } from '@sealroom/core';
import type { ReceivedMessage } from '../packages/pubsub/src/model.ts';
import { type StreamingPullRequestFields, serveStreamingPull } from '../packages/pubsub/src/streaming-pull.ts';
import { createTestPubsub, realClock } from '@sealroom/pubsub/testing';

const MESSAGES = Number(process.argv[2] ?? 100_000);
const BATCH = Number(process.argv[3] ?? 100);
const PUBLISHERS = Number(process.argv[4] ?? 4);
const GRPC_MESSAGES = Number(process.argv[5] ?? 20_000);
const PAYLOAD_BYTES = 1024;

const dir = mkdtempSync(join(tmpdir(), 'bench-pubsub-'));
const payload = Buffer.alloc(PAYLOAD_BYTES, 7);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** The machine's own limit for this store: plain multi-row INSERTs and DELETEs of the same rows, same file. */
async function rawInsertDelete(): Promise<number> {
  const db = openSqliteDatabase({ path: join(dir, 'raw.db') });
  await db.run('CREATE TABLE raw (id INTEGER PRIMARY KEY, sub_id INTEGER NOT NULL, data BLOB NOT NULL)');
  const rowSql = `INSERT INTO raw (id, sub_id, data) VALUES ${new Array(BATCH).fill('(?, ?, ?)').join(', ')}`;
  const started = performance.now();
  for (let first = 0; first < MESSAGES; first += BATCH) {
    const params: SqlValue[] = [];
    for (let i = 0; i < BATCH; i++) params.push(first + i, 1, payload);
    await db.transaction((tx) => tx.run(rowSql, params));
    await db.transaction((tx) => tx.run('DELETE FROM raw WHERE id >= ? AND id < ?', [first, first + BATCH]));
  }
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  return MESSAGES / seconds;
}

/** In-process: concurrent publishers → durable store → one StreamingPull session that acks every batch. */
async function endToEnd(): Promise<{ rate: number; p50: number; p99: number }> {
  const t = await createTestPubsub({ path: join(dir, 'e2e.db'), clock: realClock() });
  await t.service.createTopic(t.admin, 'projects/bench/topics/t-bench', {});
  await t.service.createSubscription(t.admin, 'projects/bench/subscriptions/s-bench', {
    topic: 'projects/bench/topics/t-bench',
    ackDeadlineSeconds: 60,
  });
  const sentAt = new Float64Array(MESSAGES);
  const latencies: number[] = [];
  const pending: StreamingPullRequestFields[] = [];
  let wake: (() => void) | undefined;
  const empty = { subscription: '', ackIds: [], modifyDeadlineSeconds: [], modifyDeadlineAckIds: [] };
  const requests = (async function* () {
    yield {
      ...empty,
      subscription: 'projects/bench/subscriptions/s-bench',
      streamAckDeadlineSeconds: 60,
      maxOutstandingMessages: 5000,
      maxOutstandingBytes: 0,
    };
    for (;;) {
      while (pending.length > 0) yield pending.shift() as StreamingPullRequestFields;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  })();
  const stop = new AbortController();
  let received = 0;
  let finished!: () => void;
  const allReceived = new Promise<void>((resolve) => (finished = resolve));
  const send = async (messages: ReceivedMessage[]) => {
    const now = performance.now();
    for (const m of messages)
      latencies.push(
        now - (sentAt[m.message.data[0]! + m.message.data[1]! * 256 + m.message.data[2]! * 65536] as number),
      );
    received += messages.length;
    pending.push({
      ...empty,
      ackIds: messages.map((m) => m.ackId),
      streamAckDeadlineSeconds: 0,
      maxOutstandingMessages: 0,
      maxOutstandingBytes: 0,
    });
    wake?.();
    if (received >= MESSAGES) finished();
  };
  const stream = serveStreamingPull(t.service, t.admin, requests, send, stop.signal).catch(() => {});
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (next < MESSAGES) {
        const first = next;
        next += BATCH;
        const batch = [];
        for (let i = first; i < Math.min(first + BATCH, MESSAGES); i++) {
          const data = Buffer.from(payload);
          data[0] = i & 255;
          data[1] = (i >> 8) & 255;
          data[2] = (i >> 16) & 255;
          sentAt[i] = performance.now();
          batch.push({ data, attributes: {}, orderingKey: '' });
        }
        await t.service.publish(t.admin, 'projects/bench/topics/t-bench', batch);
      }
    }),
  );
  await allReceived;
  const seconds = (performance.now() - started) / 1000;
  stop.abort();
  await stream;
  latencies.sort((a, b) => a - b);
  return { rate: MESSAGES / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Over gRPC: the server in its own process (plaintext emulator-style port), the unmodified client here. */
async function overGrpc(): Promise<{ rate: number; p50: number; p99: number }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '../packages/pubsub/src/test-server.ts'), join(dir, 'grpc.db')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve) =>
    child.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port)),
  );
  const pubsub = new PubSub({ projectId: 'bench', apiEndpoint: `127.0.0.1:${port}` });
  const [topic] = await pubsub.createTopic('t-grpc');
  await topic.createSubscription('s-grpc', { ackDeadlineSeconds: 60 });
  const publisher = pubsub.topic('t-grpc', { batching: { maxMessages: BATCH, maxMilliseconds: 5 } });
  const sub = pubsub.subscription('s-grpc', { flowControl: { maxMessages: 5000 } });
  const latencies: number[] = [];
  let received = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve) => {
    sub.on('message', (m: Message) => {
      latencies.push(performance.now() - Number(m.attributes.t));
      m.ack();
      if (++received === GRPC_MESSAGES) resolve();
    });
  });
  const inFlight: Promise<string>[] = [];
  for (let i = 0; i < GRPC_MESSAGES; i++) {
    inFlight.push(publisher.publishMessage({ data: payload, attributes: { t: String(performance.now()) } }));
    if (inFlight.length >= 2000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await done;
  const seconds = (performance.now() - started) / 1000;
  await sub.close();
  await pubsub.close();
  child.kill('SIGKILL');
  latencies.sort((a, b) => a - b);
  return { rate: GRPC_MESSAGES / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const raw = await rawInsertDelete();
const e2e = await endToEnd();
const grpcRun = GRPC_MESSAGES > 0 ? await overGrpc() : undefined;
rmSync(dir, { recursive: true, force: true });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `pubsub bench: ${MESSAGES} x ${PAYLOAD_BYTES} B messages, publish batches of ${BATCH}, ${PUBLISHERS} publishers, SQLite WAL file`,
);
console.log(
  `  raw store insert+delete (same rows, same SQLite)  ${fmt(raw)} rows/s   <- the machine's limit for this store`,
);
console.log(
  `  end to end in process (publish → StreamingPull → ack)  ${fmt(e2e.rate)} msgs/s  p50 ${e2e.p50.toFixed(1)} ms  p99 ${e2e.p99.toFixed(1)} ms  (${((e2e.rate / raw) * 100).toFixed(0)}% of raw)`,
);
if (grpcRun) {
  console.log(
    `  end to end over gRPC, server process + @google-cloud/pubsub client (${GRPC_MESSAGES} msgs)  ${fmt(grpcRun.rate)} msgs/s  p50 ${grpcRun.p50.toFixed(1)} ms  p99 ${grpcRun.p99.toFixed(1)} ms`,
  );
}
process.exit(0);
