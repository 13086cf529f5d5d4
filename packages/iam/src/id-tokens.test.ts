// The deployment's ID-token issuer: every issuer over one database signs with one key, however many tokens
// are asked for at once on a fresh database (IAM's and the metadata server's issuers run side by side).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSealer, openSqliteDatabase, systemClock, verifyRs256 } from '@sealroom/core';
import { createIdTokenIssuer, ID_TOKEN_MIGRATIONS, publicKeyFromJwk } from './id-tokens.ts';

test('two issuers on one fresh database, many tokens at once: one signing key, published, verifying them all', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  await db.migrate('iam-id-tokens', ID_TOKEN_MIGRATIONS);
  const sealer = createSealer(randomBytes(32));
  const issuers = [1, 2].map(() =>
    createIdTokenIssuer({ db, sealer, clock: systemClock, baseUrl: 'http://127.0.0.1:8080' }),
  );
  const tokens = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (issuers[i % 2] as (typeof issuers)[number]).sign({ audience: 'https://aud.example', subject: String(i) }),
    ),
  );
  const kids = new Set(
    tokens.map((t) => JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()).kid),
  );
  assert.equal(kids.size, 1, 'every token names the same key');
  const { keys } = await (issuers[0] as (typeof issuers)[number]).jwks();
  assert.equal(keys.length, 1, 'one key was made and published');
  const key = publicKeyFromJwk(keys[0] as never);
  for (const token of tokens) {
    const [head = '', body = '', signature = ''] = token.split('.');
    assert.equal(verifyRs256(`${head}.${body}`, signature, key), true);
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    assert.equal(claims.iss, 'http://127.0.0.1:8080/accounts');
    assert.equal(claims.aud, 'https://aud.example');
    assert.equal(claims.exp - claims.iat, 3600);
  }
  await db.close();
});
