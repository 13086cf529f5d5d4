// C2SP tlog-checkpoint: the note text of a tree head (origin, size, root hash, extension lines).
import { TransparencyError } from './errors.ts';
import { HASH_BYTES } from './merkle.ts';
import { decodeBase64Strict } from './note.ts';

export interface Checkpoint {
  /** The log's identity, a schema-less URL such as `example.com/log`. */
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  /** Opaque extension lines (C2SP: not recommended; Sealroom writes none). */
  readonly extensions: readonly string[];
}

/** The checkpoint's note text, final newline included. */
export function formatCheckpoint(
  checkpoint: Omit<Checkpoint, 'extensions'> & { extensions?: readonly string[] },
): string {
  const lines = [
    checkpoint.origin,
    String(checkpoint.size),
    checkpoint.root.toString('base64'),
    ...(checkpoint.extensions ?? []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Parses checkpoint note text: at least three non-empty lines, a decimal size, a 32-byte base64 root. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new TransparencyError('ERR_TRANSPARENCY_BAD_NOTE', `Not a checkpoint: ${why}.`);
  if (!text.endsWith('\n')) throw bad('the text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.some((line) => line === '')) throw bad('expected at least three non-empty lines');
  const [origin = '', sizeText = '', rootText = '', ...extensions] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw bad('the size is not a decimal');
  const root = decodeBase64Strict(rootText);
  if (root === undefined || root.length !== HASH_BYTES) throw bad('the root hash is not 32 bytes of base64');
  return { origin, size: Number(sizeText), root, extensions };
}
