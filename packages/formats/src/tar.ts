// Tar, once for every role: a deterministic writer (ustar headers, PAX only for long or non-ASCII names,
// sorted entries, fixed mtime, numeric owners, normalised modes: the same entries always give the same
// bytes) and one strict reader of ustar, pax and GNU archives (image layers, oci-archives).
import { FormatsError } from './errors.ts';

/** Numeric owner of an entry; names are never written (image-spec `layer.md`: ids win). Root by default. */
interface Owner {
  readonly uid?: number;
  readonly gid?: number;
}

export type TarEntry =
  | ({ readonly type: 'file'; readonly path: string; readonly content: Uint8Array; readonly mode?: number } & Owner)
  | ({ readonly type: 'dir'; readonly path: string; readonly mode?: number } & Owner)
  | ({ readonly type: 'symlink'; readonly path: string; readonly target: string } & Owner);

export interface TarOptions {
  /** Seconds since the epoch written as every entry's mtime (SOURCE_DATE_EPOCH); 0 by default. */
  readonly mtimeSeconds?: number;
}

const BLOCK = 512;
/** ustar's 11 octal digits of size: 8 GiB − 1. */
const MAX_SIZE = 0o77777777777;
const FILE_MODE = 0o644;
const EXEC_MODE = 0o755;
const DIR_MODE = 0o755;
const SYMLINK_MODE = 0o777;
/** ustar's 7 octal digits of uid/gid; larger ids go in a PAX record. */
const MAX_USTAR_ID = 0o7777777;

/** `a/b/c` → checked, no leading `/` or `./`, no `..` or empty segments (a layer may never escape its root). */
export function normaliseTarPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (trimmed === '' || segments.some((s) => s === '' || s === '.' || s === '..') || trimmed.includes('\0')) {
    throw new FormatsError('ERR_FORMATS_BAD_TAR_ENTRY', `Invalid layer path '${path.slice(0, 200)}'.`);
  }
  return trimmed;
}

/** Only the permission bits we allow: 0755 for executables, 0644 otherwise, unless a mode is explicit (e.g. 01777 /tmp). */
function modeOf(entry: TarEntry): number {
  if (entry.type === 'symlink') return SYMLINK_MODE;
  if (entry.mode !== undefined) return entry.mode & 0o7777;
  return entry.type === 'dir' ? DIR_MODE : FILE_MODE;
}

export function executableMode(hostMode: number): number {
  return (hostMode & 0o111) !== 0 ? EXEC_MODE : FILE_MODE;
}

/** Adds missing parent directories and sorts by path bytes so parents always come first. */
export function normaliseEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    const path = normaliseTarPath(entry.path);
    if (byPath.has(path)) throw new FormatsError('ERR_FORMATS_BAD_TAR_ENTRY', `Duplicate layer path '${path}'.`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined) byPath.set(parent, { type: 'dir', path: parent });
      else if (existing.type !== 'dir')
        throw new FormatsError('ERR_FORMATS_BAD_TAR_ENTRY', `'${parent}' is not a directory.`);
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** Writes the whole archive; entries are normalised first. Ends with two zero blocks (POSIX). */
export function writeTar(entries: readonly TarEntry[], options: TarOptions = {}): Buffer {
  const mtime = options.mtimeSeconds ?? 0;
  const chunks: Buffer[] = [];
  for (const entry of normaliseEntries(entries)) {
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const content = entry.type === 'file' ? entry.content : new Uint8Array(0);
    if (content.length > MAX_SIZE)
      throw new FormatsError('ERR_FORMATS_BAD_TAR_ENTRY', `'${name}' is too large for ustar.`);
    const uid = ownerId(entry.uid, name);
    const gid = ownerId(entry.gid, name);
    const pax: Record<string, string> = {};
    if (!fitsUstar(name)) pax.path = name;
    if (!fitsUstar(linkname)) pax.linkpath = linkname;
    if (uid > MAX_USTAR_ID) pax.uid = String(uid);
    if (gid > MAX_USTAR_ID) pax.gid = String(gid);
    if (Object.keys(pax).length > 0) {
      const body = encodePax(pax);
      chunks.push(
        header({
          name: 'PaxHeader',
          mode: FILE_MODE,
          size: body.length,
          mtime,
          type: 'x',
          linkname: '',
          uid: 0,
          gid: 0,
        }),
      );
      chunks.push(body, padding(body.length));
    }
    const type = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2';
    chunks.push(
      header({
        name: pax.path === undefined ? name : asciiPrefix(name),
        mode: modeOf(entry),
        size: content.length,
        mtime,
        type,
        linkname: pax.linkpath === undefined ? linkname : asciiPrefix(linkname),
        uid: Math.min(uid, MAX_USTAR_ID),
        gid: Math.min(gid, MAX_USTAR_ID),
      }),
    );
    if (content.length > 0)
      chunks.push(Buffer.from(content.buffer, content.byteOffset, content.length), padding(content.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

function ownerId(id: number | undefined, name: string): number {
  const value = id ?? 0;
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff)
    throw new FormatsError('ERR_FORMATS_BAD_TAR_ENTRY', `'${name}' has an invalid owner id.`);
  return value;
}

function fitsUstar(text: string): boolean {
  return Buffer.byteLength(text) <= 100 && /^[\x20-\x7e]*$/.test(text);
}

function asciiPrefix(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

/** POSIX pax records: `"%d %s=%s\n"`, the length counting itself. Keys sorted for determinism. */
function encodePax(records: Record<string, string>): Buffer {
  const lines = Object.keys(records)
    .sort()
    .map((key) => {
      const rest = ` ${key}=${records[key]}\n`;
      const restLength = Buffer.byteLength(rest);
      let length = restLength + 1;
      while (restLength + String(length).length !== length) length = restLength + String(length).length;
      return `${length}${rest}`;
    });
  return Buffer.from(lines.join(''));
}

function padding(length: number): Buffer {
  const rest = length % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

interface HeaderFields {
  readonly name: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly type: string;
  readonly linkname: string;
  readonly uid: number;
  readonly gid: number;
}

function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, fields.mode, 100, 8);
  writeOctal(block, fields.uid, 108, 8);
  writeOctal(block, fields.gid, 116, 8);
  writeOctal(block, fields.size, 124, 12);
  writeOctal(block, fields.mtime, 136, 12);
  block.fill(0x20, 148, 156);
  block.write(fields.type, 156, 1, 'ascii');
  block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, width: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

export interface ReadTarEntry {
  /** As written in the archive (pax `path` or GNU long name when present). */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** The raw typeflag (`0`, `5`, `2`, `1`, `3`, `4`, `6`, …), for messages about `other` entries. */
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly content: Buffer;
  /** Symlink target, or the hard link's target path in the archive. */
  readonly linkname: string;
  /** Names of the entry's extended attributes (`SCHILY.xattr.*` PAX records), without the prefix. */
  readonly xattrs: readonly string[];
}

const TYPES: Readonly<Record<string, ReadTarEntry['type']>> = {
  '0': 'file',
  '': 'file',
  '7': 'file',
  '5': 'dir',
  '2': 'symlink',
  '1': 'hardlink',
};

function malformed(message: string): FormatsError {
  return new FormatsError('ERR_FORMATS_MALFORMED_TAR', message);
}

/**
 * Reads a whole (decompressed) ustar/pax/GNU archive; throws ERR_FORMATS_MALFORMED_TAR on a bad header
 * checksum, a non-numeric field, a malformed pax record or an entry that runs past the end. PAX
 * `path`/`linkpath`/`size`/`uid`/`gid` (global `g` records too) and GNU long names (`L`/`K`) override
 * the header fields. An archive without its two zero blocks is accepted, as GNU tar does with a warning.
 */
export function readTar(archive: Uint8Array): ReadTarEntry[] {
  const bytes = Buffer.from(archive.buffer, archive.byteOffset, archive.length);
  const out: ReadTarEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let globalPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const block = bytes.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    if (readNumber(block, 148, 8, 'checksum') !== headerChecksum(block)) {
      throw malformed(`Corrupt tar header at offset ${offset}: bad header checksum.`);
    }
    const records = { ...globalPax, ...pax };
    const size = records.size === undefined ? readNumber(block, 124, 12, 'size') : Number(records.size);
    if (!Number.isSafeInteger(size) || size < 0) throw malformed(`Corrupt tar header at offset ${offset}: bad size.`);
    if (offset + BLOCK + size > bytes.length) throw malformed(`Truncated tar entry at offset ${offset}.`);
    const typeflag = readText(block, 156, 1);
    const content = bytes.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + size + padding(size).length;
    if (typeflag === 'x' || typeflag === 'g') {
      if (typeflag === 'x') pax = parsePax(content);
      else globalPax = { ...globalPax, ...parsePax(content) };
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      const value = content.toString('utf8').replace(/\0.*$/s, '');
      if (typeflag === 'L') longName = value;
      else longLink = value;
      continue;
    }
    // POSIX ustar (`ustar\0`) has a name prefix; the old GNU format (`ustar  `) uses those bytes otherwise.
    const prefix = readText(block, 257, 6) === 'ustar' ? readText(block, 345, 155) : '';
    const headerName = prefix === '' ? readText(block, 0, 100) : `${prefix}/${readText(block, 0, 100)}`;
    const id = (key: 'uid' | 'gid', start: number) =>
      records[key] === undefined ? readNumber(block, start, 8, key) : Number(records[key]);
    out.push({
      path: records.path ?? longName ?? headerName,
      type: TYPES[typeflag] ?? 'other',
      typeflag,
      mode: readNumber(block, 100, 8, 'mode'),
      uid: id('uid', 108),
      gid: id('gid', 116),
      mtime: readNumber(block, 136, 12, 'mtime'),
      content: Buffer.from(content),
      linkname: records.linkpath ?? longLink ?? readText(block, 157, 100),
      xattrs: Object.keys(records)
        .filter((k) => k.startsWith('SCHILY.xattr.'))
        .map((k) => k.slice('SCHILY.xattr.'.length)),
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return out;
}

/** A NUL-terminated text field. */
function readText(block: Buffer, start: number, length: number): string {
  return block.toString('utf8', start, start + length).replace(/\0.*$/s, '');
}

/** Octal (NUL/space terminated) or, when the top bit of the first byte is set, GNU base-256. */
function readNumber(block: Buffer, start: number, length: number, what: string): number {
  const field = block.subarray(start, start + length);
  if (((field[0] as number) & 0x80) !== 0) {
    let value = (field[0] as number) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw malformed(`Tar ${what} field is too large.`);
    return value;
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw malformed(`Tar ${what} field is not an octal number.`);
  return Number.parseInt(text, 8);
}

/** POSIX ustar: the sum of the header bytes with the checksum field counted as spaces. */
function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

/** pax records: `<len> <key>=<value>\n`, where len counts the whole record. */
function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) throw malformed('Pax record without a length.');
    const length = Number(body.toString('ascii', offset, space));
    if (!Number.isInteger(length) || length <= space - offset || offset + length > body.length) {
      throw malformed('Pax record length is wrong.');
    }
    const record = body.toString('utf8', space + 1, offset + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw malformed('Pax record without a key.');
    records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}
