// Access tokens' row keys: issue order first (so new rows append to the key index), the token's SHA-256 after.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { ACCESS_TOKEN_PREFIX, digestToken } from './credentials.ts';
import { createIamTestContext } from './testing.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function store() {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const t = await createIamTestContext({ clock });
  const { db, credentials } = t.deps;
  await credentials.ensureUser('a@example.com', 'dev');
  const issue = async () =>
    (await credentials.issueAccessToken({ kind: 'user', principal: 'user:a@example.com', lifetimeMs: 3600_000 }))
      .accessToken;
  return { clock, db, credentials, issue };
}

test('a new access token is keyed by its issue order, then its SHA-256: keys sort in the order tokens were issued', async () => {
  const { clock, db, issue } = await store();
  const tokens: string[] = [];
  for (let i = 0; i < 300; i++) {
    const issuedAt = clock.now();
    const token = await issue();
    tokens.push(token);
    assert.match(token, new RegExp(`^${ACCESS_TOKEN_PREFIX}\\.[A-Za-z0-9_-]{54}$`));
    const key = digestToken(token);
    assert.equal(key.length, 80);
    assert.equal(key.slice(16), sha256(token), 'the key ends with the whole token’s digest');
    assert.equal(Number.parseInt(key.slice(0, 12), 16), issuedAt, 'then the issue time in milliseconds');
    if (i % 7 === 0) clock.advance(1);
  }
  const keys = tokens.map(digestToken);
  assert.deepEqual([...keys].sort(), keys, 'issue order is key order');
  const stored = (await db.all<{ digest: string }>('SELECT digest FROM iam_access_tokens ORDER BY rowid')).map(
    (row) => row.digest,
  );
  assert.deepEqual(stored, keys, 'each row is stored under its token’s key');
  await db.close();
});

test('tokens authenticate by their key; an altered one does not, whichever part is changed', async () => {
  const { db, credentials, issue } = await store();
  const token = await issue();
  const caller = await credentials.authenticate(token);
  assert.equal(caller.principal, 'user:a@example.com');
  assert.equal(
    caller.credentialId,
    sha256(token).slice(0, 16),
    'the credential id is the token’s digest, not its order',
  );
  const start = ACCESS_TOKEN_PREFIX.length + 1;
  for (const at of [start, start + 5, start + 10, start + 11, token.length - 1]) {
    const changed = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    assert.equal(await credentials.inspect(changed), undefined, `character ${at} changed`);
  }
  assert.equal(await credentials.inspect(token.slice(0, -1)), undefined, 'one character short');
  const revoked = await credentials.revoke(token);
  assert.equal(revoked?.kind, 'access');
  assert.equal(await credentials.inspect(token), undefined, 'revoked');
  await db.close();
});

test('an access token of the earlier shape (32 random bytes, keyed by its digest alone) still authenticates', async () => {
  const { clock, db, credentials } = await store();
  const earlier = `${ACCESS_TOKEN_PREFIX}.${Buffer.alloc(32, 9).toString('base64url')}`;
  assert.equal(digestToken(earlier), sha256(earlier));
  await db.run(
    `INSERT INTO iam_access_tokens (digest, kind, principal, scopes, create_time, expire_time, subject)
     VALUES (?, 'user', 'user:a@example.com', '[]', ?, ?, 'a@example.com')`,
    [sha256(earlier), clock.now(), clock.now() + 3600_000],
  );
  const caller = await credentials.authenticate(earlier);
  assert.equal(caller.credentialId, sha256(earlier).slice(0, 16));
  assert.equal((await credentials.revoke(earlier))?.kind, 'access');
  assert.equal(await credentials.inspect(earlier), undefined);
  await db.close();
});
