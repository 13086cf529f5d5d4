// Whether a caller is a deployment administrator, for services whose actions are the deployment's, not a project's.
import type { Caller, SqlDatabase } from '@sealroom/core';

/** A user caller whose account is an enabled administrator; every other caller (accounts, federated) is not. */
export function createDeploymentAdminCheck(db: SqlDatabase): (caller: Caller | undefined) => Promise<boolean> {
  return async (caller) => {
    if (caller?.kind !== 'user' || !caller.principal.startsWith('user:')) return false;
    const row = await db.get<{ admin: number; disabled: number }>(
      'SELECT admin, disabled FROM iam_users WHERE email = ?',
      [caller.principal.slice('user:'.length).toLowerCase()],
    );
    return Number(row?.admin) === 1 && Number(row?.disabled) === 0;
  };
}
