import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreError } from './errors.ts';
import { storageFaultKindOf, storageFaultOf } from './storage-fault.ts';

const sqliteError = (errcode: number) =>
  Object.assign(new Error('sqlite'), { code: 'ERR_SQLITE_ERROR', errcode, errstr: 'x' });
const fsError = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall });

test('storage faults are recognised from SQLite result codes, errno codes and causes; nothing else is', () => {
  const cases: [string, unknown, 'full' | 'unwritable' | undefined][] = [
    ['SQLITE_FULL', sqliteError(13), 'full'],
    ['SQLITE_READONLY', sqliteError(8), 'unwritable'],
    ['SQLITE_READONLY_DBMOVED (extended)', sqliteError(1032), 'unwritable'],
    ['SQLITE_IOERR', sqliteError(10), 'unwritable'],
    ['SQLITE_IOERR_WRITE (extended)', sqliteError(778), 'unwritable'],
    ['SQLITE_IOERR_FSYNC (extended)', sqliteError(1034), 'unwritable'],
    ['SQLITE_CANTOPEN', sqliteError(14), 'unwritable'],
    ['SQLITE_IOERR_NOMEM (memory, not disk)', sqliteError(3082), undefined],
    ['SQLITE_CONSTRAINT', sqliteError(19), undefined],
    ['SQLITE_BUSY', sqliteError(5), undefined],
    ['SQLITE_CORRUPT', sqliteError(11), undefined],
    ['ENOSPC on write', fsError('ENOSPC', 'write'), 'full'],
    ['EDQUOT on open', fsError('EDQUOT', 'open'), 'full'],
    ['EROFS on open', fsError('EROFS', 'open'), 'unwritable'],
    ['EIO on fsync', fsError('EIO', 'fsync'), 'unwritable'],
    ['EIO on a terminal read', fsError('EIO', 'read'), undefined],
    ['ECONNREFUSED', fsError('ECONNREFUSED', 'connect'), undefined],
    ['ENOSPC without a syscall', Object.assign(new Error('x'), { code: 'ENOSPC' }), undefined],
    ['a wrapped SQLITE_FULL', new Error('outer', { cause: new Error('mid', { cause: sqliteError(13) }) }), 'full'],
    ['a plain error', new Error('disk full'), undefined],
    ['a string', 'ENOSPC', undefined],
    ['null', null, undefined],
  ];
  for (const [what, error, kind] of cases) assert.equal(storageFaultKindOf(error), kind, what);
});

test('a storage fault becomes a 503 UNAVAILABLE that says the storage is full or unwritable, keeping the cause', () => {
  const cause = sqliteError(13);
  const full = storageFaultOf(cause);
  assert.ok(full instanceof CoreError);
  assert.equal(full.code, 'ERR_STORAGE_FULL');
  assert.equal(full.status, 'UNAVAILABLE');
  assert.equal(full.httpStatus, 503);
  assert.equal(full.retryable, true);
  assert.match(full.message, /storage is full/);
  assert.equal(full.cause, cause);
  const unwritable = storageFaultOf(fsError('EROFS', 'open'));
  assert.equal(unwritable?.code, 'ERR_STORAGE_UNWRITABLE');
  assert.match(unwritable?.message ?? '', /storage cannot be written/);
  assert.equal(storageFaultOf(full), full, 'an already mapped fault is kept as is');
  assert.equal(storageFaultOf(new Error('other')), undefined);
});
