// Results sealed for one collaborator under its own KMS key, and opened by that collaborator's client.
import { type KeyWrapper, createDataKey, decryptWithDataKey, encryptWithDataKey } from '@sealroom/workload';
import { WordcountError } from './errors.ts';
import type { WordcountResult } from './tally.ts';

export function resultAad(collaborator: string): Buffer {
  return Buffer.from(`sealroom-wordcount/result/${collaborator}`, 'utf8');
}

/** `{k, c}` JSON: a fresh data key wrapped by the collaborator's key, the result under it. */
export async function sealResult(result: WordcountResult, collaborator: string, wrapper: KeyWrapper): Promise<Buffer> {
  const key = createDataKey();
  const aad = resultAad(collaborator);
  const wrapped = await wrapper.wrap(key, aad);
  const c = encryptWithDataKey(key, Buffer.from(JSON.stringify(result)), aad);
  return Buffer.from(JSON.stringify({ k: wrapped.toString('base64'), c: c.toString('base64') }));
}

export async function openResult(payload: Buffer, collaborator: string, wrapper: KeyWrapper): Promise<WordcountResult> {
  try {
    const sealed = JSON.parse(payload.toString('utf8')) as { k: string; c: string };
    const aad = resultAad(collaborator);
    const key = await wrapper.unwrap(Buffer.from(sealed.k, 'base64'), aad);
    return JSON.parse(
      decryptWithDataKey(key, Buffer.from(sealed.c, 'base64'), aad).toString('utf8'),
    ) as WordcountResult;
  } catch (cause) {
    throw new WordcountError('ERR_WORDCOUNT_CLIENT', `the result for ${collaborator} does not open under its key`, {
      cause,
    });
  }
}
