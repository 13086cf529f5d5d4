// Strict base64 and base64url decoding: Buffer.from silently skips bad characters, APIs must not.
import { CoreError } from './errors.ts';

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;
const EQUALS = 0x3d;

/** Decodes standard base64 (padding required, as protobuf JSON writes it); throws on anything else. */
export function fromBase64(text: string, field = 'value'): Buffer {
  if (!STD.test(text)) {
    throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at '${field}': not valid base64.`);
  }
  return Buffer.from(text, 'base64');
}

/**
 * Decodes base64 as protobuf JSON parsers accept it: standard or URL-safe alphabet, padding optional.
 */
export function fromBase64Lenient(text: string, field = 'value'): Buffer {
  // No regular expression over the text (evidence fields run to tens of kilobytes): Node's decoder reads both
  // alphabets, stops at padding and skips anything else, so a text is wholly base64 exactly when it decodes to
  // the length its characters imply. Its decoder reads a code unit above 0x7f by its low byte, so those are
  // refused first (a text's UTF-8 length exceeds its length exactly when it has one).
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === EQUALS) end--;
  if (end % 4 !== 1 && Buffer.byteLength(text, 'utf8') === text.length) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length === Math.floor((end * 3) / 4)) return bytes;
  }
  throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at '${field}': not valid base64.`);
}

export function fromBase64Url(text: string, field = 'value'): Buffer {
  if (!URL_SAFE.test(text) || text.length % 4 === 1) {
    throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at '${field}': not valid base64url.`);
  }
  return Buffer.from(text, 'base64url');
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
