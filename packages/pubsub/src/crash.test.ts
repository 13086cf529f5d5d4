import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Message, PubSub } from '@google-cloud/pubsub';

const SERVER = join(import.meta.dirname, 'test-server.ts');

function startServer(dbPath: string, port = 0): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SERVER, dbPath, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve({ child, port: JSON.parse(chunk.toString()).port }));
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('kill -9 of the server mid-consumption loses no acknowledged publish and redelivers every unacked message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pubsub-crash-'));
  const dbPath = join(dir, 'state.db');
  let server = await startServer(dbPath);
  const port = server.port;
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${port}`;
  const pubsub = new PubSub({ projectId: 'p1' });
  delete process.env.PUBSUB_EMULATOR_HOST;
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

  const delivered = new Map<string, number>();
  const inFlight: Promise<unknown>[] = [];
  let settled = false;
  let check = () => {};
  let killed = false;
  let restarted: Promise<void> | undefined;
  const sub = pubsub.subscription('crash-sub', { flowControl: { maxMessages: 200 } });
  sub.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out: ${[...acknowledged].filter((id) => !delivered.has(id)).length} missing`)),
      90_000,
    );
    sub.on('message', (m: Message) => {
      delivered.set(m.id, (delivered.get(m.id) ?? 0) + 1);
      m.ack();
      if (!killed && delivered.size >= TOTAL / 4) {
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
          server = await startServer(dbPath, port);
          await Promise.all(inFlight);
          settled = true;
          check();
        })();
      }
      check();
    });
    check = () => {
      if (settled && [...acknowledged].every((id) => delivered.has(id))) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  await done;
  await restarted;
  const missing = [...acknowledged].filter((id) => !delivered.has(id));
  const duplicates = [...delivered.values()].filter((n) => n > 1).length;
  console.log(
    `crash test: ${acknowledged.size} publishes acknowledged, ${delivered.size} distinct delivered, ${missing.length} lost, ${duplicates} redelivered`,
  );
  assert.equal(missing.length, 0);
  await sub.close();
  await pubsub.close();
  await killHard(server.child);
  rmSync(dir, { recursive: true, force: true });
});
