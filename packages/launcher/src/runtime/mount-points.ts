// Creates mount points inside an unpacked rootfs without ever following a symlink out of it.
import { lstat, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { LauncherError } from '../errors.ts';

/**
 * Makes each absolute container path exist as a directory under `rootfs`. A component that is a
 * symlink is refused: a hostile image could point it at the host (`/run -> /host/etc`).
 */
export async function ensureMountPoints(rootfs: string, containerPaths: readonly string[]): Promise<void> {
  for (const containerPath of containerPaths) {
    let current = rootfs;
    for (const part of posix
      .normalize(containerPath)
      .split('/')
      .filter((p) => p !== '' && p !== '..')) {
      current = join(current, part);
      const info = await lstat(current).catch(() => undefined);
      if (info === undefined) {
        await mkdir(current, { mode: 0o755 });
      } else if (!info.isDirectory()) {
        throw new LauncherError(
          'ERR_LAUNCHER_IMAGE_INVALID',
          `the image has ${info.isSymbolicLink() ? 'a symlink' : 'a file'} where the mount point ${containerPath} goes`,
        );
      }
    }
  }
}
