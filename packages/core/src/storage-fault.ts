// Storage faults (disk full, read-only, I/O errors) recognised in SQLite and file-system errors, as 503s that say so.
import { CoreError } from './errors.ts';

export type StorageFaultKind = 'full' | 'unwritable';

/** What a storage probe found; `message` is safe to show (no path, no data). */
export type StorageHealth =
  | { readonly ok: true }
  | { readonly ok: false; readonly fault: StorageFaultKind; readonly message: string };

/** SQLite primary result codes (sqlite.org/rescode.html) that mean the storage, not the request, failed. */
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
/** SQLITE_IOERR_NOMEM: an allocation failed, which says nothing about the disk. */
const SQLITE_IOERR_NOMEM = 3082;

/** errno codes of file-system calls; EIO only counts for the calls listed, as it also comes from terminals. */
const FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);
const UNWRITABLE_ERRNOS = new Set(['EROFS']);
const FS_SYSCALLS = new Set(['open', 'write', 'writev', 'pwrite', 'fsync', 'fdatasync', 'close', 'rename', 'mkdir']);

const MESSAGES: Readonly<Record<StorageFaultKind, string>> = {
  full: 'The server’s storage is full; the request was not written. Retry once space has been freed.',
  unwritable:
    'The server’s storage cannot be written (read-only or failing with I/O errors); the request was not written. Retry once it has been repaired.',
};

/** The kind of storage fault `error` (or one of its causes) is, if it is one. */
export function storageFaultKindOf(error: unknown): StorageFaultKind | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const kind = ownFaultKind(current as Record<string, unknown>);
    if (kind) return kind;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function ownFaultKind(error: Record<string, unknown>): StorageFaultKind | undefined {
  if (error.code === 'ERR_STORAGE_FULL') return 'full';
  if (error.code === 'ERR_STORAGE_UNWRITABLE') return 'unwritable';
  if (error.code === 'ERR_SQLITE_ERROR' && typeof error.errcode === 'number') {
    if (error.errcode === SQLITE_IOERR_NOMEM) return undefined;
    // Extended result codes keep the primary code in their low byte.
    const primary = error.errcode & 0xff;
    if (primary === SQLITE_FULL) return 'full';
    if (primary === SQLITE_READONLY || primary === SQLITE_IOERR || primary === SQLITE_CANTOPEN) return 'unwritable';
    return undefined;
  }
  if (typeof error.code !== 'string' || typeof error.syscall !== 'string') return undefined;
  if (FULL_ERRNOS.has(error.code)) return 'full';
  if (UNWRITABLE_ERRNOS.has(error.code)) return 'unwritable';
  if (error.code === 'EIO' && FS_SYSCALLS.has(error.syscall)) return 'unwritable';
  return undefined;
}

/** ERR_STORAGE_FULL or ERR_STORAGE_UNWRITABLE (503 UNAVAILABLE) for a storage fault, the cause kept for the log. */
export function toStorageFault(kind: StorageFaultKind, cause?: unknown): CoreError {
  return new CoreError(
    kind === 'full' ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_UNWRITABLE',
    MESSAGES[kind],
    cause === undefined ? {} : { cause },
  );
}

/** The storage fault `error` is, as a CoreError; undefined for any other error. */
export function storageFaultOf(error: unknown): CoreError | undefined {
  if (error instanceof CoreError && (error.code === 'ERR_STORAGE_FULL' || error.code === 'ERR_STORAGE_UNWRITABLE')) {
    return error;
  }
  const kind = storageFaultKindOf(error);
  return kind ? toStorageFault(kind, error) : undefined;
}
