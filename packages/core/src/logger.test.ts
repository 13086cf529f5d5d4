import assert from 'node:assert/strict';
import { test } from 'node:test';
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
