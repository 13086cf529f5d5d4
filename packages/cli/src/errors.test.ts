import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSealroomError } from '@sealroom/core';
import { parseLine } from './command.ts';
import { ApiError, UsageError } from './errors.ts';
import { runCli } from './main.ts';

test('a usage error is a catalogued error, ERR_CLI_USAGE, and the CLI exits 2 with its message', async () => {
  assert.throws(
    () => parseLine(['--bogus'], {}),
    (error: unknown) => isSealroomError(error) && error instanceof UsageError && error.code === 'ERR_CLI_USAGE',
  );
  let stderr = '';
  const code = await runCli(['projects', 'list', '--bogus'], {
    env: {},
    stdout: () => {},
    stderr: (t) => (stderr += t),
  });
  assert.equal(code, 2);
  assert.equal(stderr, 'ERROR: (sealroom.projects.list) unrecognized arguments: --bogus\n');
});

test('an unreachable server and a refused request are catalogued, the server’s HTTP status and reason kept', () => {
  const unreachable = new ApiError(0, 'Cannot reach the Sealroom server.', undefined, {
    cause: new Error('ECONNREFUSED'),
  });
  assert.equal(unreachable.code, 'ERR_CLI_UNREACHABLE');
  assert.equal(unreachable.retryable, true);
  assert.ok(unreachable.cause instanceof Error);
  const refused = new ApiError(409, '(ABORTED) The etag is stale.', 'ERR_ABORTED');
  assert.equal(refused.code, 'ERR_CLI_REQUEST_FAILED');
  assert.equal(refused.httpStatus, 409);
  assert.equal(refused.reason, 'ERR_ABORTED');
});
