import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSealer, loadOrCreateRootKey } from './sealer.ts';

test('sealed data opens only with the same root key and the same context', () => {
  const sealer = createSealer(randomBytes(32));
  const sealed = sealer.seal(Buffer.from('key material'), 'kms/v1');
  assert.ok(!sealed.includes(Buffer.from('key material')));
  assert.equal(sealer.open(sealed, 'kms/v1').toString(), 'key material');
  assert.throws(
    () => sealer.open(sealed, 'kms/v2'),
    (e: Error & { code?: string }) => e.code === 'ERR_SEALED_DATA',
  );
  assert.throws(() => createSealer(randomBytes(32)).open(sealed, 'kms/v1'), /could not be opened/);
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  assert.throws(() => sealer.open(flipped, 'kms/v1'));
});

test('the root key file is created 0600, reused, and refused when others can read it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-root-'));
  try {
    const path = join(dir, 'keys', 'root.key');
    const first = loadOrCreateRootKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadOrCreateRootKey(path).rootKeyId, first.rootKeyId);
    assert.ok(!first.rootKeyId.includes(readFileSync(path, 'utf8').trim()));
    chmodSync(path, 0o644);
    assert.throws(() => loadOrCreateRootKey(path), /must not be readable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
