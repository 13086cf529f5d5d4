// The kernel interface of configfs-tsm and the TDX measurement sysfs: the few file operations the platforms use.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';

/**
 * File operations on a kernel-backed directory (configfs, sysfs). Production uses `nodeKernelFs`; a test
 * imitation wraps it and plays the kernel's side effects on a plain directory.
 */
export interface KernelFs {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** The real thing: configfs and sysfs attributes are read and written as whole files. */
export const nodeKernelFs: KernelFs = {
  mkdir: async (path) => {
    await mkdir(path, { mode: 0o700 });
  },
  rmdir: (path) => rmdir(path),
  readFile: (path) => readFile(path),
  writeFile: (path, data) => writeFile(path, data),
};
