// Minimal DER (X.690) reader and writer: enough for X.509 certificates, their extensions and the names in them.
import { FormatsError } from '../errors.ts';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One decoded element: its tag byte, its content and its whole encoding. */
export interface DerNode {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly raw: Uint8Array;
}

function fail(message: string): never {
  throw new FormatsError('ERR_FORMATS_MALFORMED_DER', `DER: ${message}.`);
}

/** Reads the element at `offset`; single-byte tags and definite lengths only, as DER requires. */
export function readDer(bytes: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > bytes.length) fail('truncated header');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('multi-byte tags are not supported');
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) fail('indefinite or oversized length');
    if (offset + 2 + count > bytes.length) fail('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    if (length < 0x80) fail('non-minimal length');
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) fail('truncated content');
  return { tag, value: bytes.subarray(offset + header, end), raw: bytes.subarray(offset, end) };
}

/** The children of a constructed element (SEQUENCE, SET, context tag). */
export function readChildren(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) fail('primitive element has no children');
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const child = readDer(node.value, offset);
    out.push(child);
    offset += child.raw.length;
  }
  return out;
}

/** Decodes one whole buffer as a single element; trailing bytes are an error. */
export function parseDer(bytes: Uint8Array): DerNode {
  const node = readDer(bytes, 0);
  if (node.raw.length !== bytes.length) fail('trailing bytes');
  return node;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag) fail(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function toBigInt(node: DerNode): bigint {
  if (node.tag !== TAG.INTEGER || node.value.length === 0) fail('not an INTEGER');
  let out = 0n;
  for (const byte of node.value) out = (out << 8n) | BigInt(byte);
  if (node.value[0]! & 0x80) out -= 1n << BigInt(node.value.length * 8);
  return out;
}

export function toBoolean(node: DerNode): boolean {
  if (node.tag !== TAG.BOOLEAN || node.value.length !== 1) fail('not a BOOLEAN');
  return node.value[0] !== 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toText(node: DerNode): string {
  try {
    return utf8.decode(node.value);
  } catch {
    return fail('string is not UTF-8');
  }
}

export function toOid(node: DerNode): string {
  if (node.tag !== TAG.OID || node.value.length === 0) fail('not an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (const byte of node.value) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) fail('OID arc too large');
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  if (node.value.at(-1)! & 0x80) fail('OID ends mid-arc');
  const first = parts.shift()!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

// ---- writer ----

function lengthBytes(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function der(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag), lengthBytes(body.length), body]);
}

export const derSequence = (...items: Uint8Array[]): Buffer => der(TAG.SEQUENCE, ...items);
export const derSet = (...items: Uint8Array[]): Buffer => der(TAG.SET, ...items);
export const derNull = (): Buffer => der(TAG.NULL);
export const derUtf8 = (text: string): Buffer => der(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
export const derOctets = (bytes: Uint8Array): Buffer => der(TAG.OCTET_STRING, bytes);
export const derBoolean = (value: boolean): Buffer => der(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0));
/** Context-specific constructed tag [n] (EXPLICIT). */
export const derExplicit = (n: number, ...items: Uint8Array[]): Buffer => der(0xa0 | n, ...items);

export function derBitString(bytes: Uint8Array): Buffer {
  return der(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

export function derInteger(value: bigint | number | Uint8Array): Buffer {
  if (value instanceof Uint8Array) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const trimmed = value.subarray(start);
    return der(TAG.INTEGER, trimmed[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), trimmed]) : trimmed);
  }
  let n = BigInt(value);
  if (n < 0n) throw new FormatsError('ERR_FORMATS_ENCODE', 'A negative DER INTEGER is never needed here.');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return der(TAG.INTEGER, Uint8Array.from(bytes));
}

export function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [];
  const encode = (v: number): void => {
    const chunk = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  };
  encode(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) encode(arc);
  return der(TAG.OID, Uint8Array.from(out));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050
    ? der(TAG.UTC_TIME, Buffer.from(`${iso.slice(2)}Z`, 'latin1'))
    : der(TAG.GENERALIZED_TIME, Buffer.from(`${iso}Z`, 'latin1'));
}
