import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createFakeClock, createSealer, openSqliteDatabase } from '@sealroom/core';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createKeyRing } from './signing-keys.ts';
import { createSqlVerifierStore } from './store.ts';

const HOUR = 3600_000;

async function setup(sealer = createSealer(randomBytes(32))) {
  const db = openSqliteDatabase({ path: ':memory:' });
  const store = await createSqlVerifierStore(db);
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  const ring = createKeyRing({ store, sealer, clock, rotationMs: 24 * HOUR, tokenTtlMs: HOUR });
  return { db, store, clock, ring, sealer };
}

describe('token signing keys', () => {
  it('stores private keys only sealed', async () => {
    const { store, ring } = await setup();
    await ring.sign({ sub: 'x' });
    const [key] = await store.listSigningKeys();
    assert.ok(key);
    assert.ok(!Buffer.from(key.sealedPrivateKey).includes(Buffer.from('BEGIN')));
    assert.throws(() => createSealer(randomBytes(32)).open(key.sealedPrivateKey, `verifier/signing-key/${key.kid}`));
  });

  it('rotates with overlap: the old kid stays in the JWKS until its last token expires', async () => {
    const { clock, ring } = await setup();
    await ring.sign({ sub: 'warm-up' });
    clock.advance(24 * HOUR - 60_000);
    const first = await ring.sign({ sub: 'a', exp: Math.floor(clock.now() / 1000) + 3600 });
    const oldKid = decodeProtectedHeader(first).kid;
    clock.advance(120_000);
    const second = await ring.sign({ sub: 'b' });
    const newKid = decodeProtectedHeader(second).kid;
    assert.notEqual(newKid, oldKid);
    const jwks = await ring.jwks();
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
    await jwtVerify(first, createLocalJWKSet(jwks), { currentDate: new Date(clock.now()) });
    clock.advance(HOUR);
    assert.deepEqual(
      (await ring.jwks()).keys.map((k) => k.kid),
      [newKid],
    );
  });

  it('another replica over the same store signs with the same key', async () => {
    const a = await setup();
    const token = await a.ring.sign({ sub: 'a' });
    const b = createKeyRing({
      store: a.store,
      sealer: a.sealer,
      clock: a.clock,
      rotationMs: 24 * HOUR,
      tokenTtlMs: HOUR,
    });
    assert.equal(decodeProtectedHeader(await b.sign({ sub: 'b' })).kid, decodeProtectedHeader(token).kid);
    assert.deepEqual(await b.pkiRoot(), await a.ring.pkiRoot());
  });
});
