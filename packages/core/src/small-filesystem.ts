// For tests: a small tmpfs that can be filled to the last page, to prove what a full disk does for real.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFilesystem {
  /** The mount point (mode 0700). */
  readonly dir: string;
  /** Writes a filler file until the file system refuses another byte. */
  fill(): void;
  /** Deletes the filler: the space comes back. */
  release(): void;
  freeBytes(): number;
  /** Unmounts and removes the mount point; everything on it is gone. */
  unmount(): void;
}

const FILLER = '.filler';

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh directory. Needs root (CAP_SYS_ADMIN); otherwise returns the
 * reason, for `t.skip(reason)`.
 */
export function mountSmallFilesystem(sizeBytes: number): SmallFilesystem | string {
  if (process.platform !== 'linux') return 'mounting a tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-smallfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  }
  const filler = join(dir, FILLER);
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      try {
        for (const chunk of [65_536, 4096, 512, 1]) {
          const bytes = Buffer.alloc(chunk, 0x5a);
          // Bounded: the file system holds at most sizeBytes.
          for (let i = 0; i <= sizeBytes / chunk; i++) {
            try {
              writeSync(fd, bytes);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    release() {
      rmSync(filler, { force: true });
    },
    freeBytes() {
      const stats = statfsSync(dir);
      return stats.bavail * stats.bsize;
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}
