// A tar reader for OCI layers: ustar, pax extended headers and GNU long names (POSIX.1-2001 pax, GNU tar manual §"Formats").
import { gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { LauncherError } from '../errors.ts';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** As written in the archive (pax `path` or GNU long name when present). */
  readonly path: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Symlink target, or the hard link's target path in the archive. */
  readonly linkTarget: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

function malformed(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `image layer is not a valid tar archive: ${message}`);
}

/** Gunzips or un-zstds a layer blob by its magic bytes; plain tar passes through. */
export function decompressLayer(blob: Uint8Array): Uint8Array {
  try {
    if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
    if (blob[0] === 0x28 && blob[1] === 0xb5 && blob[2] === 0x2f && blob[3] === 0xfd) {
      const zstd = (zlib as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
      if (!zstd) throw malformed('zstd layers need Node.js with zlib zstd support');
      return zstd(blob);
    }
  } catch (cause) {
    if (cause instanceof LauncherError) throw cause;
    throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', 'image layer does not decompress', { cause });
  }
  return blob;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}

/** Octal numeric field, or GNU base-256 when the high bit of the first byte is set. */
function readNumber(block: Uint8Array, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i += 1) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw malformed(`${what} is too large`);
    return value;
  }
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw malformed(`${what} is not an octal number`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === readNumber(block, 148, 8, 'checksum');
}

/** pax records: `<len> <key>=<value>\n`, where len counts the whole record. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) throw malformed('pax record without a length');
    const length = Number(Buffer.from(data.subarray(offset, space)).toString('ascii'));
    if (!Number.isInteger(length) || length <= space - offset || offset + length > data.length) {
      throw malformed('pax record length is wrong');
    }
    const record = Buffer.from(data.subarray(space + 1, offset + length - 1)).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw malformed('pax record without a key');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    offset += length;
  }
  return out;
}

const TYPE_OF: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'dir',
  '2': 'symlink',
  '1': 'hardlink',
};

/** Parses a whole (decompressed) tar archive; throws ERR_LAUNCHER_IMAGE_INVALID on anything malformed. */
export function parseTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) return entries;
    if (!checksumOk(header)) throw malformed(`bad header checksum at byte ${offset}`);
    const size = pax.has('size') ? Number(pax.get('size')) : readNumber(header, 124, 12, 'size');
    if (!Number.isSafeInteger(size) || size < 0) throw malformed('bad entry size');
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) throw malformed('entry data runs past the end');
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    const flag = String.fromCharCode(header[156] ?? 0);
    if (flag === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L' || flag === 'K') {
      const text = Buffer.from(data).toString('utf8').replace(/\0+$/, '');
      if (flag === 'L') longName = text;
      else longLink = text;
      continue;
    }
    const magic = readString(header, 257, 6);
    const prefix = magic.startsWith('ustar') ? readString(header, 345, 155) : '';
    const name = readString(header, 0, 100);
    entries.push({
      path: pax.get('path') ?? longName ?? (prefix ? `${prefix}/${name}` : name),
      type: TYPE_OF[flag] ?? 'other',
      mode: readNumber(header, 100, 8, 'mode') & 0o7777,
      uid: pax.has('uid') ? Number(pax.get('uid')) : readNumber(header, 108, 8, 'uid'),
      gid: pax.has('gid') ? Number(pax.get('gid')) : readNumber(header, 116, 8, 'gid'),
      linkTarget: pax.get('linkpath') ?? longLink ?? readString(header, 157, 100),
      data,
    });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
  // An archive without its two zero blocks is accepted, as GNU tar does with a warning.
  return entries;
}
