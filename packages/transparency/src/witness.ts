// The witness's check: a new checkpoint must extend the last one it cosigned (no rollback, no fork), then cosign.
import { type Checkpoint, parseCheckpoint } from './checkpoint.ts';
import type { Cosigner } from './cosignature.ts';
import { TransparencyError } from './errors.ts';
import { verifyConsistency } from './merkle.ts';
import { type NoteVerifier, formatSignatureLine, openNote, parseNote } from './note.ts';

/** What a witness remembers of a log: the latest checkpoint it cosigned. */
export interface WitnessState {
  readonly origin: string;
  readonly size: number;
  /** Base64 root hash. */
  readonly root: string;
}

export function toWitnessState(checkpoint: Checkpoint): WitnessState {
  return { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root.toString('base64') };
}

/** Verifies the log's signature on a checkpoint note and checks its origin is the key's name. */
export function openCheckpoint(note: string, logKey: NoteVerifier): Checkpoint {
  const opened = openNote(note, [logKey]);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== logKey.name) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_WRONG_ORIGIN',
      `The checkpoint is of log "${checkpoint.origin}", not of "${logKey.name}".`,
    );
  }
  return checkpoint;
}

/**
 * Checks that `newer` extends `older` (two checkpoints of one log, already signature-checked), given the
 * consistency proof from older.size to newer.size: a smaller tree is a rollback, an equal size with another
 * root a split view, a failing proof a fork.
 */
export function checkExtends(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): void {
  if (newer.size < older.size) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_ROLLBACK',
      `The log shows a tree of ${newer.size} entries after one of ${older.size} was seen.`,
    );
  }
  if (newer.size === older.size && !newer.root.equals(older.root)) {
    throw new TransparencyError(
      'ERR_TRANSPARENCY_SPLIT_VIEW',
      `Two checkpoints of size ${newer.size} have different roots: the log shows a split view.`,
    );
  }
  verifyConsistency(older.size, newer.size, older.root, newer.root, proof);
}

export interface WitnessStep {
  readonly checkpoint: Checkpoint;
  /** The cosignature line (`— name base64`) to hand back to the log. */
  readonly cosignature: string;
  readonly state: WitnessState;
}

/**
 * One witness step: verify the log's signature, check consistency with the last cosigned state (none on
 * first contact), cosign. Throws without cosigning on any misbehaviour.
 */
export function witnessCheckpoint(options: {
  readonly note: string;
  readonly logKey: NoteVerifier;
  readonly previous: WitnessState | undefined;
  readonly proof: readonly Uint8Array[];
  readonly cosigner: Cosigner;
}): WitnessStep {
  const checkpoint = openCheckpoint(options.note, options.logKey);
  const { previous } = options;
  if (previous) {
    if (previous.origin !== checkpoint.origin) {
      throw new TransparencyError('ERR_TRANSPARENCY_WRONG_ORIGIN', 'The checkpoint is of another log than the state.');
    }
    checkExtends(
      { origin: previous.origin, size: previous.size, root: Buffer.from(previous.root, 'base64'), extensions: [] },
      checkpoint,
      options.proof,
    );
  }
  const text = Buffer.from(parseNote(options.note).text, 'utf8');
  const cosignature = formatSignatureLine(options.cosigner.name, options.cosigner.keyId, options.cosigner.sign(text));
  return { checkpoint, cosignature, state: toWitnessState(checkpoint) };
}
