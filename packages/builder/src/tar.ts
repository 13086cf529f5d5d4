// Deterministic tar writer: ustar headers (PAX only for long or non-ASCII names), sorted entries,
// fixed mtime, uid/gid 0, no user names, normalised modes. The same entries always give the same bytes.
import { BuilderError } from './errors.ts';

export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly content: Uint8Array; readonly mode?: number }
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

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

/** `a/b/c` → checked, no leading `/` or `./`, no `..` or empty segments (a layer may never escape its root). */
export function normaliseTarPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (trimmed === '' || segments.some((s) => s === '' || s === '.' || s === '..') || trimmed.includes('\0')) {
    throw new BuilderError('ERR_BUILDER_TAR', `Invalid layer path '${path.slice(0, 200)}'.`);
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
    if (byPath.has(path)) throw new BuilderError('ERR_BUILDER_TAR', `Duplicate layer path '${path}'.`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined) byPath.set(parent, { type: 'dir', path: parent });
      else if (existing.type !== 'dir') throw new BuilderError('ERR_BUILDER_TAR', `'${parent}' is not a directory.`);
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
    if (content.length > MAX_SIZE) throw new BuilderError('ERR_BUILDER_TAR', `'${name}' is too large for ustar.`);
    const pax: Record<string, string> = {};
    if (!fitsUstar(name)) pax.path = name;
    if (!fitsUstar(linkname)) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) {
      const body = encodePax(pax);
      chunks.push(header({ name: 'PaxHeader', mode: FILE_MODE, size: body.length, mtime, type: 'x', linkname: '' }));
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
      }),
    );
    if (content.length > 0)
      chunks.push(Buffer.from(content.buffer, content.byteOffset, content.length), padding(content.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
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
}

function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, fields.mode, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
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
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly content: Buffer;
  readonly linkname: string;
}

/** Reads a ustar/pax archive (layers, oci-archives): checks every header's checksum; corrupt → ERR_BUILDER_TAR. */
export function readTar(archive: Buffer): ReadTarEntry[] {
  const out: ReadTarEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const text = (start: number, length: number) => block.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const octal = (start: number, length: number) => Number.parseInt(text(start, length).trim() || '0', 8);
    const size = octal(124, 12);
    if (!Number.isSafeInteger(size) || size < 0 || octal(148, 8) !== headerChecksum(block)) {
      throw new BuilderError('ERR_BUILDER_TAR', `Corrupt tar header at offset ${offset}.`);
    }
    const type = text(156, 1);
    const content = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + size + padding(size).length;
    if (type === 'x') {
      pax = parsePax(content);
      continue;
    }
    out.push({
      path: pax.path ?? text(0, 100),
      type: type === '0' || type === '' ? 'file' : type === '5' ? 'dir' : type === '2' ? 'symlink' : 'other',
      mode: octal(100, 8),
      uid: octal(108, 8),
      gid: octal(116, 8),
      mtime: octal(136, 12),
      content: Buffer.from(content),
      linkname: pax.linkpath ?? text(157, 100),
    });
    pax = {};
  }
  return out;
}

/** POSIX ustar: the sum of the header bytes with the checksum field counted as spaces. */
function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number.parseInt(body.toString('ascii', offset, space), 10);
    if (!(length > 0)) break;
    const record = body.toString('utf8', space + 1, offset + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}
