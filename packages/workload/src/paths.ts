// Where the launcher puts the token file and the teeserver socket, as the workload sees them (docs/workload.md).
import { join } from 'node:path';

/** The launcher's directory inside the container; fixed by the contract. */
export const CONTAINER_LAUNCHER_DIR = '/run/container_launcher';
/**
 * Set by Sealroom's plain-process runtime, which cannot remap paths: the host directory standing in for
 * CONTAINER_LAUNCHER_DIR. Under runc and bwrap it is absent and the fixed path holds.
 */
export const LAUNCHER_DIR_ENV = 'SEALROOM_CONTAINER_LAUNCHER_DIR';
export const TOKEN_FILE_NAME = 'attestation_verifier_claims_token';
export const TEESERVER_SOCKET_NAME = 'teeserver.sock';

export interface LauncherPaths {
  readonly dir: string;
  readonly tokenFile: string;
  readonly socketPath: string;
}

/** Resolves the launcher paths once; `env` is injected for tests. */
export function resolveLauncherPaths(env: NodeJS.ProcessEnv = process.env): LauncherPaths {
  const dir = env[LAUNCHER_DIR_ENV] || CONTAINER_LAUNCHER_DIR;
  return { dir, tokenFile: join(dir, TOKEN_FILE_NAME), socketPath: join(dir, TEESERVER_SOCKET_NAME) };
}
