import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreError } from './errors.ts';
import { createMemoryLogger, REDACTED, redact } from './logger.ts';

test('redact hides every secret-named field at any depth but keeps identifiers', () => {
  const out = redact({
    kid: 'k1',
    headers: { authorization: 'Bearer abc' },
    body: { subject_token: 'eyJ', nested: [{ privateKey: 'x', name: 'projects/p' }] },
    plaintext: 'hello',
  }) as Record<string, unknown>;
  assert.equal(out.kid, 'k1');
  assert.deepEqual(out.headers, { authorization: REDACTED });
  assert.deepEqual(out.body, { subject_token: REDACTED, nested: [{ privateKey: REDACTED, name: 'projects/p' }] });
  assert.equal(out.plaintext, REDACTED);
});

test('the memory logger records redacted entries', () => {
  const log = createMemoryLogger();
  log.child({ service: 'kms' }).info({ token: 'secret-value' }, 'issued');
  assert.equal(log.entries.length, 1);
  assert.equal(JSON.stringify(log.entries).includes('secret-value'), false);
  assert.equal(log.entries[0]?.fields.service, 'kms');
});

test('a logged error keeps its cause chain’s codes; only Sealroom errors keep their messages', () => {
  const sqlite = Object.assign(new Error('near "x": syntax error in SELECT secret-payload'), {
    code: 'ERR_SQLITE_ERROR',
  });
  const storage = new CoreError('ERR_STORAGE_FULL', 'The server’s storage is full.', { cause: sqlite });
  const outer = new CoreError('ERR_INTERNAL', 'Decrypt failed.', { cause: storage });
  const log = createMemoryLogger();
  log.error({ error: outer }, 'request failed');
  const fields = log.entries[0]?.fields.error as Record<string, unknown>;
  assert.equal(fields.code, 'ERR_INTERNAL');
  assert.deepEqual(fields.causes, [
    { type: 'CoreError', code: 'ERR_STORAGE_FULL', message: 'The server’s storage is full.' },
    { type: 'Error', code: 'ERR_SQLITE_ERROR' },
  ]);
  assert.equal(JSON.stringify(log.entries).includes('secret-payload'), false);
});

test('a cause chain is followed through non-errors and cycles without end', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.deepEqual((redact(b) as { causes: unknown[] }).causes, [{ type: 'Error' }, { type: 'Error' }]);
  assert.deepEqual((redact(new Error('c', { cause: 'a string' })) as { causes: unknown[] }).causes, [
    { type: 'string' },
  ]);
  assert.equal('causes' in (redact(new Error('plain')) as object), false);
});
