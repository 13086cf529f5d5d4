// Facts about the host the launcher checks metadata against (MemFree of /proc/meminfo bounds
// the /dev/shm and tmpfs sizes, in kB).
import { readFile } from 'node:fs/promises';

/** `MemFree` of /proc/meminfo in kB, or undefined where there is no /proc (the check is then skipped). */
export async function readMemFreeKb(meminfoPath = '/proc/meminfo'): Promise<number | undefined> {
  const text = await readFile(meminfoPath, 'utf8').catch(() => '');
  const match = /^MemFree:\s+(\d+)\s+kB$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}
