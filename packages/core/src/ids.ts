// Identifiers: opaque ids, numeric ids shaped like Google's, and random secrets.
import { randomInt, randomUUID } from 'node:crypto';
import { pooledRandomBytes } from './random.ts';

export function newUuid(): string {
  return randomUUID();
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
