// Test support: a directory that imitates configfs-tsm and the TDX measurement sysfs. Every operation is the
// real file operation on that directory; the imitation adds what the kernel would do (attributes of a new
// entry, the generation counter, a report for outblob, RTMR extension).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type KernelFs, nodeKernelFs } from './fs.ts';

export interface ConfigfsTsmImitationOptions {
  /** The directory that plays `/sys/kernel/config/tsm/report`'s parent (`tsm`); `report` is made inside. */
  readonly dir: string;
  readonly provider: string;
  /** What reading outblob returns, given the inblob written (a recorded vector, or a report minted for it). */
  readonly outblob: (inblob: Buffer) => Uint8Array;
  readonly auxblob?: Uint8Array;
  /** Bump the generation once more after the report is read: a writer racing the request. */
  readonly raceAfterRead?: boolean;
}

export interface ConfigfsTsmImitation {
  readonly fs: KernelFs;
  /** The `report` directory to give as the configfs-tsm root. */
  readonly reportRoot: string;
  /** The `measurements` directory to give as the RTMR root. */
  readonly measurementsRoot: string;
  /** The inblobs written so far, in order. */
  readonly inblobs: Buffer[];
  /** RTMR values (index → 48 bytes) as the imitation holds them. */
  rtmr(index: number): Buffer;
}

const RTMR_FILE = /^rtmr([0-3]):sha384$/;

export function imitateConfigfsTsm(options: ConfigfsTsmImitationOptions): ConfigfsTsmImitation {
  const reportRoot = join(options.dir, 'report');
  const measurementsRoot = join(options.dir, 'measurements');
  mkdirSync(reportRoot, { recursive: true });
  mkdirSync(measurementsRoot, { recursive: true });
  const rtmrs = [0, 1, 2, 3].map(() => Buffer.alloc(48));
  for (const [i, value] of rtmrs.entries()) writeFileSync(join(measurementsRoot, `rtmr${i}:sha384`), value);
  const generations = new Map<string, number>();
  const inblobs: Buffer[] = [];
  const bump = async (entry: string, by = 1) => {
    const next = (generations.get(entry) ?? 0) + by;
    generations.set(entry, next);
    await nodeKernelFs.writeFile(join(entry, 'generation'), Buffer.from(`${next}\n`));
  };
  const fs: KernelFs = {
    async mkdir(path) {
      await nodeKernelFs.mkdir(path);
      if (dirname(path) !== reportRoot) return;
      generations.set(path, 0);
      writeFileSync(join(path, 'provider'), `${options.provider}\n`);
      writeFileSync(join(path, 'generation'), '0\n');
      writeFileSync(join(path, 'privlevel_floor'), '0\n');
    },
    async rmdir(path) {
      generations.delete(path);
      const { rm } = await import('node:fs/promises');
      await rm(path, { recursive: true, force: true });
    },
    async readFile(path) {
      const entry = dirname(path);
      if (generations.has(entry) && basename(path) === 'outblob') {
        const inblob = await nodeKernelFs.readFile(join(entry, 'inblob'));
        await nodeKernelFs.writeFile(path, options.outblob(inblob));
        if (options.auxblob !== undefined) await nodeKernelFs.writeFile(join(entry, 'auxblob'), options.auxblob);
        if (options.raceAfterRead === true) await bump(entry);
      }
      return nodeKernelFs.readFile(path);
    },
    async writeFile(path, data) {
      const entry = dirname(path);
      const rtmr = RTMR_FILE.exec(basename(path));
      if (entry === measurementsRoot && rtmr !== null) {
        const i = Number(rtmr[1]);
        rtmrs[i] = createHash('sha384').update(rtmrs[i]!).update(data).digest();
        await nodeKernelFs.writeFile(path, rtmrs[i]!);
        return;
      }
      await nodeKernelFs.writeFile(path, data);
      if (generations.has(entry)) {
        if (basename(path) === 'inblob') inblobs.push(Buffer.from(data));
        await bump(entry);
      }
    },
  };
  return { fs, reportRoot, measurementsRoot, inblobs, rtmr: (i) => Buffer.from(rtmrs[i]!) };
}
