// Reports and quotes through Linux configfs-tsm (`/sys/kernel/config/tsm/report`), the kernel's one ABI for
// SEV-SNP and TDX guests: mkdir an entry, write inblob (and privlevel), read outblob, auxblob and generation.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AttestError } from '../errors.ts';
import { type KernelFs, nodeKernelFs } from './fs.ts';

export const CONFIGFS_TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';
/** The `provider` attribute of each guest driver (Linux `sev-guest` and `tdx-guest`). */
export const TSM_PROVIDERS = { 'sev-snp': 'sev_guest', tdx: 'tdx_guest' } as const;
export type TsmPlatformKind = keyof typeof TSM_PROVIDERS;
export const TSM_INBLOB_BYTES = 64;
/** privlevel is the SEV-SNP VMPL the report is requested at: 0 to 3 (Linux ABI `configfs-tsm-report`). */
const MAX_PRIVLEVEL = 3;

export interface TsmOptions {
  /** The `report` directory of configfs-tsm; `/sys/kernel/config/tsm/report` unless told. */
  readonly root?: string;
  readonly fs?: KernelFs;
}

export interface TsmReportRequest extends TsmOptions {
  /** The 64 bytes of report data (SEV-SNP REPORT_DATA, TDX REPORTDATA). */
  readonly inblob: Uint8Array;
  /** SEV-SNP only: the VMPL to request the report at (at least the kernel's `privlevel_floor`). */
  readonly privlevel?: number;
  /** The provider the report must come from: a report of another TEE is refused. */
  readonly provider: TsmPlatformKind;
}

export interface TsmReport {
  readonly provider: string;
  /** The SEV-SNP attestation report or the TDX quote. */
  readonly outblob: Buffer;
  /** SEV-SNP: the certificate table the host supplied (may be empty); absent for TDX. */
  readonly auxblob?: Buffer;
  readonly generation: number;
}

function tsmError(message: string, cause?: unknown): never {
  throw new AttestError('ERR_ATTEST_TSM', `configfs-tsm: ${message}`, cause === undefined ? undefined : { cause });
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function readText(fs: KernelFs, path: string): Promise<string> {
  return (await fs.readFile(path)).toString('utf8').trim();
}

async function readGeneration(fs: KernelFs, entry: string): Promise<number> {
  const text = await readText(fs, join(entry, 'generation'));
  if (!/^[0-9]{1,15}$/.test(text)) tsmError('the generation attribute is not a counter');
  return Number(text);
}

/** The provider configfs-tsm reports for a fresh entry under `root`, or undefined when there is no configfs-tsm. */
export async function probeTsmProvider(options: TsmOptions = {}): Promise<string | undefined> {
  const fs = options.fs ?? nodeKernelFs;
  const entry = join(options.root ?? CONFIGFS_TSM_REPORT_ROOT, `sealroom-probe-${randomUUID()}`);
  try {
    await fs.mkdir(entry);
  } catch {
    return undefined;
  }
  try {
    return await readText(fs, join(entry, 'provider'));
  } catch {
    return undefined;
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

/**
 * One report from configfs-tsm. The entry is private to this call (a fresh name, removed afterwards); the
 * generation counter, which the kernel bumps on every write to the entry, must have moved by exactly our
 * writes before outblob is read and must not move while it is read, or another writer raced us and the
 * report may carry its data.
 */
export async function requestTsmReport(request: TsmReportRequest): Promise<TsmReport> {
  const fs = request.fs ?? nodeKernelFs;
  if (request.inblob.length !== TSM_INBLOB_BYTES) tsmError(`inblob must be ${TSM_INBLOB_BYTES} bytes`);
  if (request.privlevel !== undefined && !(Number.isInteger(request.privlevel) && request.privlevel >= 0)) {
    tsmError('privlevel must be a VMPL from 0 to 3');
  }
  if (request.privlevel !== undefined && request.privlevel > MAX_PRIVLEVEL) tsmError('privlevel must be 0 to 3');
  const entry = join(request.root ?? CONFIGFS_TSM_REPORT_ROOT, `sealroom-${randomUUID()}`);
  try {
    await fs.mkdir(entry);
  } catch (error) {
    const hint = errno(error) === 'ENOENT' ? ' (no configfs-tsm: Linux 6.7 or newer with the guest driver)' : '';
    tsmError(`cannot create a report entry${hint}`, error);
  }
  try {
    const provider = await readText(fs, join(entry, 'provider'));
    if (provider !== TSM_PROVIDERS[request.provider]) {
      throw new AttestError(
        'ERR_ATTEST_TSM_PROVIDER',
        `configfs-tsm: the provider is "${provider.slice(0, 32)}", not ${TSM_PROVIDERS[request.provider]}.`,
      );
    }
    const start = await readGeneration(fs, entry);
    let writes = 0;
    if (request.privlevel !== undefined) {
      await fs.writeFile(join(entry, 'privlevel'), Buffer.from(String(request.privlevel)));
      writes++;
    }
    await fs.writeFile(join(entry, 'inblob'), request.inblob);
    writes++;
    const written = await readGeneration(fs, entry);
    if (written !== start + writes) generationMoved();
    const outblob = await fs.readFile(join(entry, 'outblob'));
    const auxblob =
      request.provider === 'sev-snp'
        ? await fs.readFile(join(entry, 'auxblob')).catch((error: unknown) => {
            // No certificate table from the host reads as ENOENT or an empty attribute, never as a failure.
            if (errno(error) === 'ENOENT' || errno(error) === 'ENXIO') return Buffer.alloc(0);
            throw error;
          })
        : undefined;
    if ((await readGeneration(fs, entry)) !== written) generationMoved();
    if (outblob.length === 0) tsmError('the kernel returned an empty outblob');
    return { provider, outblob, ...(auxblob === undefined ? {} : { auxblob }), generation: written };
  } catch (error) {
    if (error instanceof AttestError) throw error;
    return tsmError('the report request failed', error);
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

function generationMoved(): never {
  throw new AttestError(
    'ERR_ATTEST_TSM_GENERATION',
    'configfs-tsm: the report entry was written by another writer between our request and our read.',
  );
}
