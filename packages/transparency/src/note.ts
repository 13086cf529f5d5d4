// C2SP signed-note: Ed25519 note keys (signer and verifier key strings, key IDs), signing and verifying notes.
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { TransparencyError } from './errors.ts';

/** Signature type bytes of C2SP signed-note §"Signature types". */
export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

const EM_DASH = '\u2014';
/** Verifiers must accept at least 16 signatures; more than this many lines is refused. */
export const MAX_NOTE_SIGNATURES = 64;
const MAX_NOTE_BYTES = 64 * 1024;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** One signature line: the key name, the 32-bit key ID and the signature bytes after it. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Buffer;
}

export interface ParsedNote {
  /** The signed text, final newline included. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** Verifies signatures of one key; `name` and `keyId` select the lines it is asked about. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Buffer, signature: Buffer): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes that follow the key ID on the signature line. */
  sign(text: Buffer): Buffer;
}

/** An Ed25519 key pair with its note name, from a signer key string or freshly generated. */
export interface Ed25519NoteKey extends NoteSigner {
  readonly publicKey: Buffer;
  /** `PRIVATE+KEY+<name>+<keyid>+base64(0x01 || seed)`, the golang.org/x/mod/sumdb/note form. */
  readonly signerKey: string;
  /** `<name>+<keyid>+base64(0x01 || public key)`. */
  readonly verifierKey: string;
}

/** SHA-256(name || 0x0A || type || public key)[:4] as a big-endian uint32. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Buffer.of(type))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, '0');

/** Key names must be non-empty, without Unicode spaces or '+' (C2SP signed-note §Format). */
export function checkKeyName(name: string): void {
  if (
    name === '' ||
    /[\s+\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name) ||
    /\p{Cc}/u.test(name)
  ) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_KEY', 'A key name must be non-empty, without spaces or "+".');
  }
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The note key of a 32-byte Ed25519 seed (RFC 8032 private key). */
export function noteKeyFromSeed(name: string, seed: Buffer): Ed25519NoteKey {
  checkKeyName(name);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey)
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519_PREFIX.length);
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, publicKey);
  return {
    name,
    keyId,
    publicKey: Buffer.from(publicKey),
    signerKey: `PRIVATE+KEY+${name}+${hex8(keyId)}+${Buffer.concat([Buffer.of(SIG_TYPE_ED25519), seed]).toString('base64')}`,
    verifierKey: `${name}+${hex8(keyId)}+${Buffer.concat([Buffer.of(SIG_TYPE_ED25519), publicKey]).toString('base64')}`,
    sign: (text) => sign(null, text, privateKey),
  };
}

/** A fresh Ed25519 note key named `name`. */
export function generateNoteKey(name: string): Ed25519NoteKey {
  checkKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  return noteKeyFromSeed(name, Buffer.from(seed));
}

/** Parses `PRIVATE+KEY+name+keyid+base64(0x01 || seed)`; the key ID must match the key. */
export function parseSignerKey(text: string): Ed25519NoteKey {
  const parts = splitKey(text, 5);
  const bad = (why: string) => new TransparencyError('ERR_TRANSPARENCY_BAD_KEY', `Not a note signer key: ${why}.`);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw bad('expected PRIVATE+KEY+name+id+key');
  const [, , name = '', id = '', material = ''] = parts;
  checkKeyName(name);
  const bytes = decodeBase64Strict(material);
  if (bytes === undefined || bytes.length !== 33 || bytes[0] !== SIG_TYPE_ED25519) throw bad('not an Ed25519 seed');
  const key = noteKeyFromSeed(name, bytes.subarray(1));
  if (!/^[0-9a-f]{8}$/.test(id) || Number.parseInt(id, 16) !== key.keyId)
    throw bad('the key ID does not match the key');
  return key;
}

/** Splits at the first `count - 1` plus signs: the base64 key material after them may hold '+' itself. */
function splitKey(text: string, count: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (parts.length < count - 1) {
    const at = rest.indexOf('+');
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

/** The parts of a verifier key string, checked: name, key ID, type and public key. */
export interface VerifierKeyParts {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Buffer;
}

export function parseVerifierKeyParts(text: string): VerifierKeyParts {
  const parts = splitKey(text, 3);
  const bad = (why: string) => new TransparencyError('ERR_TRANSPARENCY_BAD_KEY', `Not a note verifier key: ${why}.`);
  if (parts.length !== 3) throw bad('expected name+keyid+base64(type || key)');
  const [name = '', id = '', material = ''] = parts;
  checkKeyName(name);
  const bytes = decodeBase64Strict(material);
  if (bytes === undefined || bytes.length !== 33) throw bad('the key is not a type byte and 32 bytes');
  const type = bytes[0] as number;
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1)
    throw bad(`unsupported type 0x${hex8(type).slice(6)}`);
  const publicKey = bytes.subarray(1);
  const keyId = noteKeyId(name, type, publicKey);
  if (!/^[0-9a-f]{8}$/.test(id) || Number.parseInt(id, 16) !== keyId) throw bad('the key ID does not match the key');
  return { name, keyId, type, publicKey };
}

/** An Ed25519 (type 0x01) verifier from `name+keyid+base64(0x01 || key)`. */
export function parseVerifierKey(text: string): NoteVerifier {
  const parts = parseVerifierKeyParts(text);
  if (parts.type !== SIG_TYPE_ED25519) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_KEY', 'Expected an Ed25519 (type 0x01) note verifier key.');
  }
  const key = ed25519PublicKeyObject(parts.publicKey);
  return {
    name: parts.name,
    keyId: parts.keyId,
    verify: (text, signature) => signature.length === 64 && verify(null, text, key, signature),
  };
}

/** Standard base64 (RFC 4648 §4) with padding, refusing anything else. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function checkNoteText(text: string, what: string): void {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_NOTE', `The ${what} holds a control character.`);
  }
}

/** Signs `text` (which must end in a newline) with each signer: text, blank line, signature lines. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n'))
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_NOTE', 'Note text must end in a newline.');
  checkNoteText(text, 'note text');
  const body = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => formatSignatureLine(s.name, s.keyId, s.sign(body)));
  return `${text}\n${lines.join('')}`;
}

export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyId);
  return `${EM_DASH} ${name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

/** Splits a signed note into its text and signature lines, checking the format only. */
export function parseNote(note: string): ParsedNote {
  const bad = (why: string) => new TransparencyError('ERR_TRANSPARENCY_BAD_NOTE', `Not a signed note: ${why}.`);
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw bad('it is too large');
  checkNoteText(note, 'note');
  if (!note.endsWith('\n')) throw bad('it does not end in a newline');
  // The text is separated from the signatures by the last blank line.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw bad('too many signatures');
  const signatures = lines.map((line) => {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match) throw bad('a signature line is not "— name base64"');
    const [, name = '', encoded = ''] = match;
    if (name.includes('+')) throw bad('a key name holds "+"');
    const bytes = decodeBase64Strict(encoded);
    if (bytes === undefined || bytes.length < 5) throw bad('a signature is not base64 of a key ID and signature');
    return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a note per C2SP signed-note §Signatures: lines of unknown keys are ignored, a known key's
 * failing signature rejects the note, and at least one known key must verify. Returns the text and the
 * verifiers whose signatures held.
 */
export function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): { text: string; verifiedBy: NoteVerifier[] } {
  const parsed = parseNote(note);
  const body = Buffer.from(parsed.text, 'utf8');
  const verifiedBy: NoteVerifier[] = [];
  for (const signature of parsed.signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (!verifier) continue;
    if (!verifier.verify(body, signature.signature)) {
      throw new TransparencyError(
        'ERR_TRANSPARENCY_SIGNATURE_INVALID',
        `The signature of ${signature.name} on the note does not verify.`,
      );
    }
    if (!verifiedBy.includes(verifier)) verifiedBy.push(verifier);
  }
  if (verifiedBy.length === 0) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_SIGNATURE_INVALID',
      'The note carries no signature from a trusted key.',
    );
  }
  return { text: parsed.text, verifiedBy };
}
