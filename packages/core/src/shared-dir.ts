// Locates the repository root and the shared reference folder (vectors, contracts) beside the checkout.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreError } from './errors.ts';

/** The repository root: the nearest folder above this file holding tsconfig.base.json. */
export function resolveRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tsconfig.base.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new CoreError('ERR_INTERNAL', 'Cannot find the repository root above @sealroom/core.');
    dir = parent;
  }
  return dir;
}

/**
 * The shared folder: `SEALROOM_SHARED_DIR` when set, else `<repository root>/../shared`. Tests read
 * vectors and contracts from there at run time; nothing from it is copied into the repository.
 */
export function resolveSharedDir(): string {
  const fromEnv = process.env.SEALROOM_SHARED_DIR;
  return fromEnv ? resolve(fromEnv) : join(resolveRepoRoot(), '..', 'shared');
}
