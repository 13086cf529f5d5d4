// Strict base64 and base64url decoding: Buffer.from silently skips bad characters, APIs must not.
import { CoreError } from './errors.ts';

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;
/** Either alphabet, then any run of padding. */
const LENIENT = /^[A-Za-z0-9+/_-]*=*$/;
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
  // One scan, no copies: this decodes every KMS ciphertext and every piece of evidence. Node's base64 decoder
  // reads both alphabets and stops at padding.
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === EQUALS) end--;
  if (!LENIENT.test(text) || end % 4 === 1) {
    throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at '${field}': not valid base64.`);
  }
  return Buffer.from(text, 'base64');
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
