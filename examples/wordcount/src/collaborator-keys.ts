// A collaborator's keys as the workload uses them: data keys unwrapped once (cached), per-message decrypt for KMS mode.
import { type KeyWrapper, createDataKeyCache } from '@sealroom/workload';
import { dataKeyAad } from './contribution.ts';
import type { CollaboratorKeys } from './processor.ts';

export function keysFor(collaborator: string, wrapper: KeyWrapper): CollaboratorKeys {
  const cache = createDataKeyCache({ unwrap: (wrapped) => wrapper.unwrap(wrapped, dataKeyAad(collaborator)) });
  return {
    unwrapDataKey: (wrapped) => cache.get(wrapped),
    decrypt: (ciphertext, aad) => wrapper.unwrap(ciphertext, aad),
  };
}
