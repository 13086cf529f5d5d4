// Identifiers: opaque ids, numeric ids shaped like Google's, and random secrets.
import { randomInt, randomUUID } from 'node:crypto';
import { pooledRandomBytes } from './random.ts';

export function newUuid(): string {
  return randomUUID();
}

let uuidSequence = 0;

/**
 * Writes `nowMs` as 48 bits of Unix milliseconds, big-endian, at `offset` (clamped to what 48 bits hold): the
 * leading bytes of an identifier that sorts in the order it was made.
 */
export function writeMillis48(target: Buffer, nowMs: number, offset = 0): void {
  target.writeUIntBE(Math.max(0, Math.min(Math.trunc(nowMs), 2 ** 48 - 1)), offset, 6);
}

/**
 * A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit sequence and 62 random bits. Ids
 * made one after another sort in the order they were made, so rows keyed by them are added at the end of
 * their index rather than each on a random page of it.
 */
export function newUuidV7(nowMs: number = Date.now()): string {
  const bytes = pooledRandomBytes(16);
  writeMillis48(bytes, nowMs);
  bytes.writeUInt16BE(0x7000 | uuidSequence, 6);
  uuidSequence = (uuidSequence + 1) & 0xfff;
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random decimal string of exactly `digits` digits, never starting with 0. */
export function newNumericId(digits: number): string {
  let out = String(randomInt(1, 10));
  while (out.length < digits) out += String(randomInt(0, 10));
  return out;
}

/** A 12-digit project number, as Google assigns them. */
export function newProjectNumber(): string {
  return newNumericId(12);
}

/** A 21-digit unique id, as service accounts carry. */
export function newUniqueId(): string {
  return newNumericId(21);
}

/** A 19-digit instance id, as Compute Engine assigns them. */
export function newInstanceId(): string {
  return newNumericId(19);
}

/** A bearer secret: a prefix naming its kind, then 32 random bytes in base64url. */
export function newSecretToken(prefix: string): string {
  return `${prefix}.${pooledRandomBytes(32).toString('base64url')}`;
}
