// `sealroom serve` with its state directory on a small real file system that fills up: 503s that say so,
// /readyz not ready while it lasts, no half-written publish, and recovery once space is freed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeClock, createMemoryLogger, mountSmallFilesystem } from '@sealroom/core';
import { resolveServerConfig } from './config.ts';
import { STORAGE_PROBE_INTERVAL_MS } from './readiness.ts';
import { startServer } from './server.ts';

const MESSAGES_PER_PUBLISH = 4;
const MESSAGE_BYTES = 192 * 1024;

test('a full state disk makes writes answer 503 UNAVAILABLE saying storage is full and /readyz not ready, half-writes nothing, and both recover once space is freed', async (t) => {
  const fs = mountSmallFilesystem(24 * 1024 * 1024);
  if (typeof fs === 'string') return t.skip(fs);
  const clock = createFakeClock(Date.now());
  const logger = createMemoryLogger();
  const server = await startServer(
    resolveServerConfig({ port: 0, grpcPort: -1, stateDir: fs.dir, only: ['pubsub'], logLevel: 'silent' }, {}),
    { logger, clock },
  ).catch((error: unknown) => {
    fs.unmount();
    throw error;
  });
  try {
    const { credentials } = server.iam.deps;
    await credentials.ensureUser('owner@example.com', 'dev');
    const { accessToken } = await credentials.issueAccessToken({
      kind: 'user',
      principal: 'user:owner@example.com',
      lifetimeMs: 3_600_000,
    });
    const rest = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: Google API JSON, checked field by field.
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };
    const readyz = async () => {
      clock.advance(STORAGE_PROBE_INTERVAL_MS);
      const res = await fetch(`${server.url}/readyz`);
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    assert.equal((await rest('POST', '/v1/projects', { projectId: 'full-disk' })).status, 200);
    const topic = 'projects/full-disk/topics/full-topic';
    const sub = 'projects/full-disk/subscriptions/full-sub';
    assert.equal((await rest('PUT', `/v1/${topic}`, {})).status, 200);
    const created = await rest('PUT', `/v1/${sub}`, { topic });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal((await readyz()).status, 200);

    fs.fill();
    assert.equal(fs.freeBytes(), 0);
    const notReady = await readyz();
    assert.equal(notReady.status, 503);
    assert.equal(notReady.json.storage, 'full');
    assert.match(String(notReady.json.reason), /storage is full/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'still alive');

    // Publish batches of several messages until one fails: the write-ahead log may still have room for a few.
    const batch = (n: number) => ({
      messages: Array.from({ length: MESSAGES_PER_PUBLISH }, (_, i) => ({
        data: Buffer.alloc(MESSAGE_BYTES, 97 + i).toString('base64'),
        attributes: { batch: String(n) },
      })),
    });
    let published = 0;
    let refused: Awaited<ReturnType<typeof rest>> | undefined;
    for (let n = 0; n < 40 && !refused; n++) {
      const answer = await rest('POST', `/v1/${topic}:publish`, batch(n));
      if (answer.status === 200) published += 1;
      else refused = answer;
    }
    assert.ok(refused, 'a publish failed on the full disk');
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.status, 'UNAVAILABLE');
    assert.match(refused.json.error.message, /storage is full/);
    assert.equal(refused.json.error.details[0].reason, 'ERR_STORAGE_FULL');
    assert.ok(
      logger.entries.some((e) => e.level === 'error' && /storage is failing/.test(e.message)),
      'the operator is told once',
    );

    fs.release();
    const again = await readyz();
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal((await rest('POST', `/v1/${topic}:publish`, batch(99))).status, 200);
    const batches = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const pulled = await rest('POST', `/v1/${sub}:pull`, { maxMessages: 8 });
      const received = (pulled.json.receivedMessages ?? []) as {
        ackId: string;
        message: { attributes: { batch: string } };
      }[];
      if (received.length === 0) break;
      for (const r of received)
        batches.set(r.message.attributes.batch, (batches.get(r.message.attributes.batch) ?? 0) + 1);
      await rest('POST', `/v1/${sub}:acknowledge`, { ackIds: received.map((r) => r.ackId) });
    }
    // Every committed batch whole, the refused one not at all.
    assert.equal(batches.size, published + 1);
    for (const [n, count] of batches) assert.equal(count, MESSAGES_PER_PUBLISH, `batch ${n}`);
  } finally {
    await server.close();
    fs.unmount();
  }
});
