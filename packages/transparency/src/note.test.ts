import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { createCosigner, parseCosignatureVerifierKey } from './cosignature.ts';
import { TransparencyError } from './errors.ts';
import {
  ed25519PublicKeyObject,
  generateNoteKey,
  noteKeyId,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  parseVerifierKeyParts,
  signNote,
} from './note.ts';

const code = (c: string) => (e: unknown) => e instanceof TransparencyError && e.code === c;
const require = createRequire(import.meta.url);
// @sigstore/verify parses and verifies Rekor's signed-note checkpoints: an independent reader of the format.
const sigstoreCheckpoint = require('@sigstore/verify/dist/tlog/checkpoint.js') as {
  verifyCheckpoint(
    entry: { inclusionProof: { checkpoint: { envelope: string } } },
    tlogs: { logID: Buffer; publicKey: unknown; baseURL: string }[],
  ): { origin: string; logSize: bigint; logHash: Buffer };
};

test('a note key round-trips through its signer and verifier key strings, with the C2SP key ID', () => {
  const key = generateNoteKey('log.example/transparency');
  const again = parseSignerKey(key.signerKey);
  assert.equal(again.verifierKey, key.verifierKey);
  const parts = parseVerifierKeyParts(key.verifierKey);
  assert.equal(parts.keyId, noteKeyId('log.example/transparency', 0x01, key.publicKey));
  assert.equal(key.verifierKey.split('+')[1], parts.keyId.toString(16).padStart(8, '0'));
  assert.throws(
    () => parseVerifierKey(key.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')),
    code('ERR_TRANSPARENCY_BAD_KEY'),
  );
  assert.throws(() => parseSignerKey('PRIVATE+KEY+x+00+AAAA'), code('ERR_TRANSPARENCY_BAD_KEY'));
  assert.throws(() => generateNoteKey('has space'), code('ERR_TRANSPARENCY_BAD_KEY'));
});

test('a signed checkpoint verifies, and @sigstore/verify reads the same note and signature', () => {
  const key = generateNoteKey('log.example/transparency');
  const root = Buffer.alloc(32, 7);
  const note = signNote(formatCheckpoint({ origin: key.name, size: 42, root }), [key]);
  const opened = openNote(note, [parseVerifierKey(key.verifierKey)]);
  assert.deepEqual(parseCheckpoint(opened.text), { origin: key.name, size: 42, root, extensions: [] });
  const id = Buffer.alloc(32);
  id.writeUInt32BE(key.keyId);
  const read = sigstoreCheckpoint.verifyCheckpoint({ inclusionProof: { checkpoint: { envelope: note } } }, [
    { logID: id, publicKey: ed25519PublicKeyObject(key.publicKey), baseURL: `https://${key.name}` },
  ]);
  assert.equal(read.logSize, 42n);
  assert.deepEqual(Buffer.from(read.logHash), root);
});

test('a changed text, a foreign key or a bad signature from a known key is refused; unknown keys are ignored', () => {
  const key = generateNoteKey('log.example/a');
  const other = generateNoteKey('log.example/b');
  const note = signNote('hello\n', [key, other]);
  const verifier = parseVerifierKey(key.verifierKey);
  assert.equal(openNote(note, [verifier]).verifiedBy.length, 1, 'the other signature is ignored');
  assert.throws(() => openNote(note.replace('hello', 'hullo'), [verifier]), code('ERR_TRANSPARENCY_SIGNATURE_INVALID'));
  assert.throws(() => openNote(signNote('hello\n', [other]), [verifier]), code('ERR_TRANSPARENCY_SIGNATURE_INVALID'));
  assert.throws(() => parseNote('hello\n'), code('ERR_TRANSPARENCY_BAD_NOTE'));
  assert.throws(() => parseNote('he\u0007llo\n\n\u2014 a AAAAAAA=\n'), code('ERR_TRANSPARENCY_BAD_NOTE'));
  assert.throws(() => parseCheckpoint('origin\n01\nAAAA\n'), code('ERR_TRANSPARENCY_BAD_NOTE'));
});

test('a witness cosignature (cosignature/v1) verifies under the witness key and nothing else', () => {
  const log = generateNoteKey('log.example/transparency');
  const witnessKey = generateNoteKey('witness.example/w1');
  const cosigner = createCosigner(witnessKey, () => 1_700_000_000_000);
  const note = signNote(formatCheckpoint({ origin: log.name, size: 1, root: Buffer.alloc(32) }), [log, cosigner]);
  const witness = parseCosignatureVerifierKey(cosigner.verifierKey);
  const opened = openNote(note, [parseVerifierKey(log.verifierKey), witness]);
  assert.deepEqual(
    opened.verifiedBy.map((v) => v.name),
    ['log.example/transparency', 'witness.example/w1'],
  );
  const line = parseNote(note).signatures[1];
  assert.equal(witness.timestampOf(line?.signature ?? Buffer.alloc(8)), 1_700_000_000);
  // The cosignature key ID differs from the same key's plain Ed25519 ID (type 0x04 against 0x01).
  assert.notEqual(cosigner.keyId, witnessKey.keyId);
  assert.throws(() => parseVerifierKey(cosigner.verifierKey), code('ERR_TRANSPARENCY_BAD_KEY'));
  assert.throws(() => parseCosignatureVerifierKey(witnessKey.verifierKey), code('ERR_TRANSPARENCY_BAD_KEY'));
});
