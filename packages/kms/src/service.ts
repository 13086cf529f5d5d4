// The KMS domain: one object with every method, shared by the REST and gRPC front ends.
import { CoreError } from '@sealroom/core';
import { createAdmin } from './admin.ts';
import type { KmsDeps } from './context.ts';
import { createOperations } from './operations.ts';

export type { KmsDeps } from './context.ts';

const ROOT_KEY_META = 'root_key_id';

/**
 * Builds the KMS domain over its deps. Refuses to start when the state was sealed under another root
 * key: every version would fail to open later, so it fails loudly now (ERR_WRONG_ROOT_KEY).
 */
export async function createKeyManager(deps: KmsDeps) {
  const recorded = await deps.store.getMeta(ROOT_KEY_META);
  if (recorded === undefined) {
    await deps.store.setMeta(ROOT_KEY_META, deps.sealer.rootKeyId);
  } else if (recorded !== deps.sealer.rootKeyId) {
    throw new CoreError(
      'ERR_WRONG_ROOT_KEY',
      `The KMS state was sealed under root key ${recorded.slice(0, 16)}…, not the configured ${deps.sealer.rootKeyId.slice(0, 16)}…; refusing to start.`,
    );
  }
  const admin = createAdmin(deps);
  return { ...admin, ...createOperations(deps, admin) };
}

export type KeyManager = Awaited<ReturnType<typeof createKeyManager>>;
