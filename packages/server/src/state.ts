// The state directory: root key, database, and the check that both belong together.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreError, loadOrCreateRootKey, openSqliteDatabase, type Sealer, type SqlDatabase } from '@sealroom/core';
import { openPostgresDatabase } from '@sealroom/postgres';

export interface StateHandles {
  readonly sealer: Sealer;
  readonly db: SqlDatabase;
}

/**
 * Opens the database — `<stateDir>/sealroom.db`, or PostgreSQL at `databaseUrl` — under the root key,
 * refusing to start when the database was sealed under another root key (ERR_WRONG_ROOT_KEY) rather
 * than producing garbage later. Replicas on one PostgreSQL database must share the root key.
 */
export async function openState(
  stateDir: string,
  rootKeyFile: string | undefined,
  databaseUrl?: string,
): Promise<StateHandles> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const sealer = loadOrCreateRootKey(rootKeyFile ?? join(stateDir, 'keys', 'root.key'));
  const db =
    databaseUrl === undefined
      ? openSqliteDatabase({ path: join(stateDir, 'sealroom.db'), checkpointInBackground: true })
      : await openPostgresDatabase({ url: databaseUrl });
  try {
    await db.migrate('sealroom-meta', ['CREATE TABLE sealroom_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);']);
    // The first replica to start records its root key; ON CONFLICT keeps the first one's, read back below.
    await db.run("INSERT INTO sealroom_meta (key, value) VALUES ('root_key_id', ?) ON CONFLICT (key) DO NOTHING", [
      sealer.rootKeyId,
    ]);
    const row = await db.get<{ value: string }>("SELECT value FROM sealroom_meta WHERE key = 'root_key_id'");
    if (row?.value !== sealer.rootKeyId) {
      throw new CoreError(
        'ERR_WRONG_ROOT_KEY',
        `The root key (id ${sealer.rootKeyId.slice(0, 12)}…) is not the one this ${databaseUrl === undefined ? 'state directory' : 'database'} was sealed with (id ${row?.value.slice(0, 12)}…); refusing to start.`,
      );
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  return { sealer, db };
}
