// Benchmark: Pub/Sub end-to-end messages/s through Sealroom on the SQL and the NATS JetStream backend, next to
// the same run's bare JetStream publish+consume rate. Each server and each load generator is its own process.
// Run: npm exec -- node bench/pubsub-nats.ts [messages] [nats-url]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { openSqliteDatabase } from '@sealroom/core';
import { bareJetStreamRate } from './lib/jetstream.ts';
import { openNatsPubsubStore } from '../packages/pubsub/src/store-nats.ts';

/** `--load MODE PORT MESSAGES NATS_URL`: this file run as the load generator of one phase. */
const LOAD = process.argv[2] === '--load' ? process.argv.slice(3) : undefined;
const MESSAGES = Number(LOAD ? LOAD[2] : (process.argv[2] ?? 20_000));
const NATS_URL = (LOAD ? LOAD[3] : process.argv[3]) ?? 'nats://127.0.0.1:4222';
const PAYLOAD = Buffer.alloc(1024, 7);
const dir = LOAD ? '' : mkdtempSync(join(tmpdir(), 'bench-pubsub-nats-'));

function startServer(backend: 'sql' | 'nats'): Promise<{ child: ChildProcess; port: number }> {
  const server = join(import.meta.dirname, '../packages/pubsub/src/test-server.ts');
  const child = spawn(process.execPath, [server, join(dir, `${backend}.db`), '0', backend, NATS_URL, '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve({ child, port: JSON.parse(chunk.toString()).port }));
  });
}

/** Publishes MESSAGES through the unmodified client and consumes them over StreamingPull, acking each. */
async function loadSealroom(backend: string, port: number): Promise<number> {
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${port}`;
  const pubsub = new PubSub({ projectId: 'bench' });
  delete process.env.PUBSUB_EMULATOR_HOST;
  const [topic] = await pubsub.createTopic(`bench-${backend}`);
  await topic.createSubscription(`bench-${backend}-sub`, { ackDeadlineSeconds: 60 });
  const publisher = pubsub.topic(`bench-${backend}`, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
  const sub = pubsub.subscription(`bench-${backend}-sub`, { flowControl: { maxMessages: 5000 } });
  const seen = new Set<string>();
  const started = performance.now();
  const received = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${backend}: ${seen.size} of ${MESSAGES} arrived`)), 600_000);
    sub.on('error', () => {});
    sub.on('message', (m: Message) => {
      seen.add(m.id);
      m.ack();
      if (seen.size === MESSAGES) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  for (let i = 0; i < MESSAGES; i += 1000) {
    const window = [];
    for (let k = i; k < Math.min(MESSAGES, i + 1000); k++) window.push(publisher.publishMessage({ data: PAYLOAD }));
    await Promise.all(window);
  }
  await received;
  const seconds = (performance.now() - started) / 1000;
  await sub.close();
  await pubsub.close();
  return MESSAGES / seconds;
}

/** Runs one phase's load in its own process; resolves with the rate it measured. */
function runLoad(mode: string, port: number): Promise<number> {
  const child = spawn(
    process.execPath,
    [import.meta.filename, '--load', mode, String(port), String(MESSAGES), NATS_URL],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(Number(JSON.parse(out).rate)) : reject(new Error(`${mode} load failed`)),
    );
  });
}

/** A process's CPU time (user + system) in ms, from /proc on Linux; undefined elsewhere. */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** The end-to-end rate, and the server's CPU time per message during the load (µs; Linux only). */
async function throughSealroom(backend: 'sql' | 'nats'): Promise<{ rate: number; cpuUs: number | undefined }> {
  const server = await startServer(backend);
  try {
    const before = cpuMsOf(server.child.pid);
    const rate = await runLoad(backend, server.port);
    const after = cpuMsOf(server.child.pid);
    return {
      rate,
      cpuUs: before === undefined || after === undefined ? undefined : ((after - before) * 1000) / MESSAGES,
    };
  } finally {
    server.child.kill('SIGKILL');
    if (backend === 'nats') {
      // The streams the server made: found through its records, deleted like a replica deletes them.
      const db = openSqliteDatabase({ path: join(dir, 'nats.db') });
      const store = await openNatsPubsubStore({ url: NATS_URL, db });
      await store.deleteSubscription('projects/bench/subscriptions/bench-nats-sub');
      await store.deleteTopic('projects/bench/topics/bench-nats');
      await store.close();
      await db.close();
    }
  }
}

if (LOAD) {
  const [mode = '', port = '0'] = LOAD;
  const rate =
    mode === 'bare' ? await bareJetStreamRate(NATS_URL, MESSAGES, 300_000) : await loadSealroom(mode, Number(port));
  process.stdout.write(`${JSON.stringify({ rate })}\n`);
  process.exit(0);
}

const bare = await runLoad('bare', 0);
const sql = await throughSealroom('sql');
const nats = await throughSealroom('nats');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(8);
const cpu = (r: { cpuUs: number | undefined }) =>
  r.cpuUs === undefined ? '' : `  server CPU ${Math.round(r.cpuUs)} µs/msg`;
console.log(
  `Pub/Sub end to end, ${MESSAGES} messages of 1 KiB; every server and every load generator its own process:`,
);
console.log(`  bare JetStream publish + pull-consume + ack (the engine's limit)   ${fmt(bare)} msgs/s`);
console.log(`  Sealroom on SQL (SQLite), @google-cloud/pubsub over gRPC            ${fmt(sql.rate)} msgs/s${cpu(sql)}`);
console.log(
  `  Sealroom on NATS JetStream, @google-cloud/pubsub over gRPC          ${fmt(nats.rate)} msgs/s${cpu(nats)}  (${((100 * nats.rate) / bare).toFixed(0)} % of bare, ${((100 * nats.rate) / sql.rate).toFixed(0)} % of SQL)`,
);
console.log(`  machine load average (1 min) at the end: ${loadavg()[0]?.toFixed(1)}`);
rmSync(dir, { recursive: true, force: true });
