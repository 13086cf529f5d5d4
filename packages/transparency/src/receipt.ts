// Receipts: C2SP tlog-proof@v1 files (leaf as `extra`, index, inclusion proof, checkpoint), verified offline.
import { type Checkpoint, parseCheckpoint } from './checkpoint.ts';
import { type CosignatureVerifier, parseCosignatureVerifierKey } from './cosignature.ts';
import { type LogEntry, parseLeaf } from './entry.ts';
import { TransparencyError } from './errors.ts';
import { HASH_BYTES, hashLeaf, verifyInclusion } from './merkle.ts';
import { type NoteVerifier, decodeBase64Strict, openNote, parseNote, parseVerifierKey } from './note.ts';

export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';
/** Most proof lines a receipt may hold (a tree of 2^63 leaves needs 63). */
const MAX_PROOF_LINES = 63;

export interface Receipt {
  /** The leaf bytes (tlog-proof's `extra`): the entry this receipt is about. */
  readonly leaf: Buffer;
  readonly index: number;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, cosignatures included. */
  readonly checkpointNote: string;
}

export function formatReceipt(receipt: Receipt): string {
  return [
    RECEIPT_HEADER,
    `extra ${receipt.leaf.toString('base64')}`,
    `index ${receipt.index}`,
    ...receipt.proof.map((h) => h.toString('base64')),
    '',
    receipt.checkpointNote,
  ].join('\n');
}

export function parseReceipt(text: string): Receipt {
  const bad = (why: string) =>
    new TransparencyError('ERR_TRANSPARENCY_BAD_NOTE', `Not a receipt (tlog-proof): ${why}.`);
  const lines = text.split('\n');
  if (lines[0] !== RECEIPT_HEADER) throw bad(`the first line is not ${RECEIPT_HEADER}`);
  const extra = /^extra (\S+)$/.exec(lines[1] ?? '');
  const leaf = extra ? decodeBase64Strict(extra[1] ?? '') : undefined;
  if (!leaf) throw bad('Sealroom receipts carry the leaf as the extra line');
  const indexMatch = /^index (0|[1-9][0-9]*)$/.exec(lines[2] ?? '');
  if (!indexMatch || !Number.isSafeInteger(Number(indexMatch[1]))) throw bad('the index line is missing or malformed');
  const proof: Buffer[] = [];
  let at = 3;
  for (; at < lines.length && lines[at] !== ''; at++) {
    const hash = decodeBase64Strict(lines[at] ?? '');
    if (!hash || hash.length !== HASH_BYTES) throw bad(`proof line ${proof.length + 1} is not a base64 SHA-256 hash`);
    proof.push(hash);
    if (proof.length > MAX_PROOF_LINES) throw bad('the inclusion proof is too long');
  }
  if (lines[at] !== '') throw bad('no blank line before the checkpoint');
  const checkpointNote = lines.slice(at + 1).join('\n');
  parseNote(checkpointNote);
  return { leaf, index: Number(indexMatch[1]), proof, checkpointNote };
}

export interface VerifyCheckpointOptions {
  /** The log's note verifier key (`name+keyid+base64(0x01 || key)`), or its parsed verifier. */
  readonly logKey: string | NoteVerifier;
  /** Trusted witnesses' cosignature keys (type 0x04). */
  readonly witnessKeys?: readonly (string | CosignatureVerifier)[];
  /** How many of the trusted witnesses must have cosigned (default 0). */
  readonly witnessQuorum?: number;
}

export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** Names of the trusted witnesses whose cosignatures verified. */
  readonly witnesses: readonly string[];
}

/**
 * Verifies a signed checkpoint with no help from the log: the log key's signature (the origin must be
 * the key's name, as C2SP recommends and Sealroom's log does), and at least `witnessQuorum` cosignatures.
 */
export function verifyCheckpointNote(note: string, options: VerifyCheckpointOptions): VerifiedCheckpoint {
  const logKey = typeof options.logKey === 'string' ? parseVerifierKey(options.logKey) : options.logKey;
  const witnessKeys = (options.witnessKeys ?? []).map((k) =>
    typeof k === 'string' ? parseCosignatureVerifierKey(k) : k,
  );
  const opened = openNote(note, [logKey, ...witnessKeys]);
  if (!opened.verifiedBy.includes(logKey)) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_SIGNATURE_INVALID',
      `The checkpoint is not signed by the log ${logKey.name}.`,
    );
  }
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== logKey.name) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_WRONG_ORIGIN',
      `The checkpoint is of log "${checkpoint.origin}", not of "${logKey.name}".`,
    );
  }
  const witnesses = opened.verifiedBy.filter((v) => v !== logKey).map((v) => v.name);
  const quorum = options.witnessQuorum ?? 0;
  if (witnesses.length < quorum) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_WITNESS_QUORUM',
      `The checkpoint carries ${witnesses.length} trusted witness cosignature(s); ${quorum} are required.`,
    );
  }
  return { checkpoint, witnesses };
}

export interface VerifiedReceipt extends VerifiedCheckpoint {
  readonly entry: LogEntry;
  readonly index: number;
}

/**
 * Verifies a receipt offline: checkpoint signatures, then the leaf's inclusion in the checkpointed tree.
 *
 * @example
 * ```ts
 * // logKey: the log's note verifier key, as `sealroom transparency log-key` prints it
 * const verified = verifyReceipt(readFileSync('receipts/42.tlog-proof', 'utf8'), { logKey });
 * verified.entry; // what was decided (a key use, a token exchange, a policy change, a release)
 * verified.index; // its leaf index in the tree of verified.checkpoint.size leaves
 * ```
 */
export function verifyReceipt(text: string, options: VerifyCheckpointOptions): VerifiedReceipt {
  const receipt = parseReceipt(text);
  const verified = verifyCheckpointNote(receipt.checkpointNote, options);
  verifyInclusion(
    receipt.index,
    verified.checkpoint.size,
    hashLeaf(receipt.leaf),
    receipt.proof,
    verified.checkpoint.root,
  );
  return { ...verified, entry: parseLeaf(receipt.leaf), index: receipt.index };
}
