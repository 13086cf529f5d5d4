// Machine-wide claims on the links carved from address pools: several Sealroom hosts on one machine (a control
// plane's embedded host, joined hosts, test servers) carve the same pool, and two that read the routes at
// the same moment would both take the first free /30 — the same gateway address on two interfaces. A claim
// is a file created exclusively, naming the claiming process; a claim whose process is gone is taken over.
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the claims live: under /run, which a reboot empties together with the links they stand for. */
export const DEFAULT_CLAIMS_DIR = '/run/sealroom/links';

export interface LinkClaims {
  /** Claims the link's subnet (`10.213.0.4/30`) for this process; false when a live process holds it. */
  claim(subnet: string): Promise<boolean>;
  /** Gives the subnet back (only a claim of this process). */
  release(subnet: string): Promise<void>;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Claims on links by their subnet, whatever pool each host carves them from (pools may overlap). */
export function openLinkClaims(dir = DEFAULT_CLAIMS_DIR): LinkClaims {
  const fileOf = (subnet: string) => join(dir, subnet.replace('/', '-'));
  const ownerOf = async (file: string): Promise<number | undefined> => {
    const text = await readFile(file, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const create = async (file: string): Promise<boolean> => {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  };
  return {
    async claim(subnet) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = fileOf(subnet);
      if (await create(file)) return true;
      const owner = await ownerOf(file);
      // A claim still being written (no pid yet) or held by a live process stands.
      if (owner === undefined || alive(owner)) return false;
      // A crashed run's claim: removed, then claimed exclusively again (another taker may win the race).
      await unlink(file).catch(() => undefined);
      return create(file);
    },
    async release(subnet) {
      const file = fileOf(subnet);
      if ((await ownerOf(file)) === process.pid) await unlink(file).catch(() => undefined);
    },
  };
}
