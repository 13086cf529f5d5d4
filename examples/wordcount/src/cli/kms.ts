// The collaborator's KMS key through the official client (REST fallback) with the user's own token.
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { type KeyWrapper, createKmsKeyWrapper, kmsClientOptions } from '@sealroom/workload';
import { OAuth2Client } from 'google-auth-library';
import type { UserSession } from './user-session.ts';
import { FlagError } from './flags.ts';

export function openUserKms(session: UserSession, keyName: string): { wrapper: KeyWrapper; close(): Promise<void> } {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: session.accessToken, expiry_date: Date.now() + 3_000_000 });
  const client = new KeyManagementServiceClient(
    kmsClientOptions({ endpoint: { restUrl: session.api }, authClient }) as never,
  );
  return { wrapper: createKmsKeyWrapper(client as never, keyName), close: () => client.close() };
}

/** `projects/P/…` → P: by default a collaborator is named after the project that owns its key. */
export function projectOfKey(keyName: string): string {
  const match = /^projects\/([^/]+)\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/.exec(keyName);
  if (!match?.[1]) throw new FlagError(`--kmsKey "${keyName}" is not projects/P/locations/L/keyRings/R/cryptoKeys/K`);
  return match[1];
}
