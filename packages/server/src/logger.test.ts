import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CoreError } from '@sealroom/core';
import { createPinoLogger } from './logger.ts';

test('the server’s JSON log lines carry a logged error’s cause chain codes, and no secret-named field', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = createPinoLogger('info', stream);
  const cause = Object.assign(new Error('disk I/O error'), { code: 'EIO' });
  const error = new CoreError('ERR_STORAGE_UNWRITABLE', 'The server’s storage cannot be written.', { cause });
  logger.error({ error, accessToken: 'ya29.secret' }, 'request failed');
  await new Promise((resolve) => setImmediate(resolve));
  const entry = JSON.parse(lines[0] ?? '{}') as { error: { code: string; causes: unknown[] }; accessToken: string };
  assert.equal(entry.error.code, 'ERR_STORAGE_UNWRITABLE');
  assert.deepEqual(entry.error.causes, [{ type: 'Error', code: 'EIO' }]);
  assert.equal(entry.accessToken, '[redacted]');
});
