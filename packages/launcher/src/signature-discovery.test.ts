import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  createSignatureDiscovery,
  type SignatureRegistry,
} from './signature-discovery.ts';

const IMAGE = `sha256:${'ab'.repeat(32)}`;
const TAG = `sha256-${'ab'.repeat(32)}.sig`;

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function fakeRegistry(
  manifests: Record<string, unknown>,
  blobs: Record<string, Buffer>,
  failures: { transient?: number } = {},
): SignatureRegistry & { calls: number } {
  let transient = failures.transient ?? 0;
  const registry = {
    calls: 0,
    async getManifest(name: string, reference: string) {
      registry.calls += 1;
      if (transient > 0) {
        transient -= 1;
        throw Object.assign(new Error('unavailable'), { code: 'ERR_REGISTRY_REMOTE' });
      }
      const manifest = manifests[`${name}:${reference}`];
      if (!manifest) throw Object.assign(new Error('missing'), { code: 'ERR_REGISTRY_NOT_FOUND' });
      return { bytes: Buffer.from(JSON.stringify(manifest)) };
    },
    async getBlob(_name: string, digest: string) {
      const blob = blobs[digest];
      if (!blob) throw Object.assign(new Error('missing blob'), { code: 'ERR_REGISTRY_NOT_FOUND' });
      return blob;
    },
  };
  return registry;
}

test('discovery reads every layer of the .sig manifest of every repo, and skips what does not check out', async () => {
  const good = Buffer.from('{"critical":{"type":"cosign container image signature"}}');
  const other = Buffer.from('{"second":true}');
  const liar = Buffer.from('tampered');
  const manifest = {
    layers: [
      {
        digest: digestOf(good),
        annotations: { [COSIGN_SIGNATURE_ANNOTATION]: Buffer.from('sig-1').toString('base64') },
      },
      { digest: digestOf(other), annotations: { [COSIGN_SIGNATURE_ANNOTATION]: 'not base64!' } },
      { digest: digestOf(Buffer.from('expected')), annotations: { [COSIGN_SIGNATURE_ANNOTATION]: 'c2ln' } },
      { digest: digestOf(other) },
    ],
  };
  const registry = fakeRegistry(
    { [`p/repo/img:${TAG}`]: manifest },
    { [digestOf(good)]: good, [digestOf(other)]: other, [digestOf(Buffer.from('expected'))]: liar },
  );
  const logger = createMemoryLogger();
  const discover = createSignatureDiscovery({
    repos: ['127.0.0.1:8080/p/repo/img', '127.0.0.1:8080/p/other/img', 'no-host', '127.0.0.1:8080/p/repo/img:tag'],
    imageDigest: IMAGE,
    clientFor: () => registry,
    logger,
    retryDelayMs: 1,
  });
  const found = await discover();
  assert.equal(found.length, 1);
  assert.deepEqual(Buffer.from(found[0]?.payload ?? []), good);
  assert.equal(Buffer.from(found[0]?.signature ?? []).toString(), 'sig-1');
  assert.ok(logger.entries.some((e) => e.message.includes('skipped')));
});

test('a registry that fails transiently is retried, and one that keeps failing gives no signatures, not an error', async () => {
  const payload = Buffer.from('{}');
  const manifest = { layers: [{ digest: digestOf(payload), annotations: { [COSIGN_SIGNATURE_ANNOTATION]: 'c2ln' } }] };
  const flaky = fakeRegistry({ [`p/r/i:${TAG}`]: manifest }, { [digestOf(payload)]: payload }, { transient: 2 });
  const discover = createSignatureDiscovery({
    repos: ['h:1/p/r/i'],
    imageDigest: IMAGE,
    clientFor: () => flaky,
    logger: createMemoryLogger(),
    retryDelayMs: 1,
  });
  assert.equal((await discover()).length, 1);
  assert.equal(flaky.calls, 3);
  const down = fakeRegistry({}, {}, { transient: 10 });
  const none = createSignatureDiscovery({
    repos: ['h:1/p/r/i'],
    imageDigest: IMAGE,
    clientFor: () => down,
    logger: createMemoryLogger(),
    retryDelayMs: 1,
  });
  assert.deepEqual(await none(), []);
  assert.equal(down.calls, 3);
});
