// A contribution on the wire: attributes naming sender and id, a body sealed per message (KMS) or per batch (envelope).
import { randomUUID } from 'node:crypto';
import {
  type KeyWrapper,
  contributionAad,
  createDataKey,
  decryptWithDataKey,
  encryptWithDataKey,
} from '@sealroom/workload';
import { WordcountError } from './errors.ts';

export const ATTR_COLLABORATOR = 'collaborator';
export const ATTR_CONTRIBUTION_ID = 'contribution_id';
export const ATTR_MODE = 'mode';
/** A control message (no contribution): `publish-results` asks for the sealed results now. */
export const ATTR_COMMAND = 'wordcount_command';
export const PUBLISH_RESULTS_COMMAND = 'publish-results';
export const MAX_WORD_BYTES = 1024;

/** `envelope`: a batch data key wrapped once by KMS; `kms`: the seed's one KMS call per message. */
export type ContributionMode = 'envelope' | 'kms';

export interface Contribution {
  readonly collaborator: string;
  readonly id: string;
  readonly mode: ContributionMode;
  readonly body: Buffer;
}

export interface WireMessage {
  readonly attributes: Record<string, string>;
  readonly data: Buffer;
}

/** AAD of a wrapped data key: the key is only valid for contributions of that collaborator. */
export function dataKeyAad(collaborator: string): Buffer {
  return Buffer.from(`sealroom-wordcount/data-key/${collaborator}`, 'utf8');
}

interface EnvelopeBody {
  readonly wrappedKey: Buffer;
  readonly ciphertext: Buffer;
}

export function decodeEnvelopeBody(body: Buffer): EnvelopeBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', 'the envelope body is not JSON', { cause });
  }
  const fields = parsed as { k?: unknown; c?: unknown } | null;
  if (!fields || typeof fields.k !== 'string' || typeof fields.c !== 'string') {
    throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', 'the envelope body needs k (wrapped key) and c (ciphertext)');
  }
  return { wrappedKey: Buffer.from(fields.k, 'base64'), ciphertext: Buffer.from(fields.c, 'base64') };
}

/** Parses attributes and body at the boundary; the collaborator named is checked against the config later. */
export function parseContribution(attributes: Record<string, string> | undefined, data: Buffer): Contribution {
  const collaborator = attributes?.[ATTR_COLLABORATOR];
  const id = attributes?.[ATTR_CONTRIBUTION_ID];
  const mode = attributes?.[ATTR_MODE] ?? 'kms';
  if (!collaborator || !id || id.length > 128) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', 'a contribution needs collaborator and contribution_id');
  }
  if (mode !== 'envelope' && mode !== 'kms') {
    throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', `unknown mode "${mode}"`);
  }
  return { collaborator, id, mode, body: data };
}

/** Opens a contribution's body with the configured collaborator's keys; returns the word. */
export async function openContribution(
  contribution: Contribution,
  keys: { unwrapDataKey(wrapped: Buffer): Promise<Buffer>; decrypt(ciphertext: Buffer, aad: Buffer): Promise<Buffer> },
): Promise<string> {
  const aad = contributionAad(contribution.id, contribution.collaborator);
  let plaintext: Buffer;
  try {
    if (contribution.mode === 'kms') {
      plaintext = await keys.decrypt(contribution.body, aad);
    } else {
      const { wrappedKey, ciphertext } = decodeEnvelopeBody(contribution.body);
      plaintext = decryptWithDataKey(await keys.unwrapDataKey(wrappedKey), ciphertext, aad);
    }
  } catch (cause) {
    if (cause instanceof WordcountError) throw cause;
    throw new WordcountError('ERR_WORDCOUNT_DECRYPT_FAILED', `contribution ${contribution.id} did not decrypt`, {
      cause,
    });
  }
  if (plaintext.length === 0 || plaintext.length > MAX_WORD_BYTES) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', `a word has 1–${MAX_WORD_BYTES} bytes`);
  }
  return plaintext.toString('utf8');
}

export interface ContributionSealerOptions {
  readonly collaborator: string;
  /** The collaborator's KMS key (encrypt), through its own credentials. */
  readonly wrapper: KeyWrapper;
  readonly mode: ContributionMode;
  readonly newId?: () => string;
}

/** The sender's side: in envelope mode one data key per sealer (batch), wrapped by KMS once. */
export function createContributionSealer(options: ContributionSealerOptions): {
  seal(word: string): Promise<WireMessage>;
} {
  const newId = options.newId ?? randomUUID;
  let batch: Promise<{ key: Buffer; wrapped: string }> | undefined;
  return {
    async seal(word) {
      const plaintext = Buffer.from(word, 'utf8');
      if (plaintext.length === 0 || plaintext.length > MAX_WORD_BYTES) {
        throw new WordcountError('ERR_WORDCOUNT_BAD_MESSAGE', `a word has 1–${MAX_WORD_BYTES} bytes`);
      }
      const id = newId();
      const aad = contributionAad(id, options.collaborator);
      const attributes = {
        [ATTR_COLLABORATOR]: options.collaborator,
        [ATTR_CONTRIBUTION_ID]: id,
        [ATTR_MODE]: options.mode,
      };
      if (options.mode === 'kms') return { attributes, data: await options.wrapper.wrap(plaintext, aad) };
      batch ??= (async () => {
        const key = createDataKey();
        const wrapped = await options.wrapper.wrap(key, dataKeyAad(options.collaborator));
        return { key, wrapped: wrapped.toString('base64') };
      })();
      const { key, wrapped } = await batch;
      const body = { k: wrapped, c: encryptWithDataKey(key, plaintext, aad).toString('base64') };
      return { attributes, data: Buffer.from(JSON.stringify(body)) };
    },
  };
}
