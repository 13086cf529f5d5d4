// The tdx platform: TD quotes through configfs-tsm, launch events extended into RTMR 3 through the kernel's
// measurement sysfs, and the firmware's CCEL when the machine exposes it.
import { readFile } from 'node:fs/promises';
import { AttestError } from '../errors.ts';
import { CEL_TYPE, celRecordFor, encodeCelRecord } from '../eventlog/cel.ts';
import { COS_CCMR } from '../eventlog/cos.ts';
import { reportDataFor } from '../report-data.ts';
import { TPM_ALG } from '../tpm/constants.ts';
import { type TsmOptions, requestTsmReport } from '../tsm/configfs.ts';
import { type RtmrOptions, extendRtmr, readRtmr } from '../tsm/rtmr.ts';
import { type IdentityOptions, type InstanceIdentity, createInstanceIdentity } from './identity.ts';
import type { Platform, PlatformEvidence, TdxQuoteEvidence } from './platform.ts';

/** RTMR 3 is CC MR 4 (UEFI CC measurement index: MRTD 0, RTMR 0-3 are 1-4). */
const LAUNCH_RTMR = COS_CCMR - 1;

/** Where Linux exposes the firmware's CC event log (ACPI CCEL table and its data). */
export const CCEL_PATHS = {
  table: '/sys/firmware/acpi/tables/CCEL',
  data: '/sys/firmware/acpi/tables/data/CCEL',
} as const;

export interface TdxBootOptions extends IdentityOptions {
  readonly tsm?: TsmOptions;
  readonly rtmr?: RtmrOptions;
  /** The CCEL files; the machine's by default, none when set to `false`. */
  readonly ccel?: { readonly table: string; readonly data: string } | false;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch(() => undefined);
}

/** CCEL data is the log area; the unused tail the firmware leaves is 0xFF and is not sent. */
function trimCcel(data: Buffer): Buffer {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0xff) end--;
  return data.subarray(0, end);
}

export class TdxPlatform implements Platform {
  readonly kind = 'tdx';
  readonly hwmodel = 'INTEL_TDX';
  readonly identity: InstanceIdentity;
  readonly #options: TdxBootOptions;
  readonly #cel: Buffer[] = [];

  constructor(identity: InstanceIdentity, options: TdxBootOptions) {
    this.identity = identity;
    this.#options = options;
  }

  async measureEvent(content: Uint8Array): Promise<void> {
    const record = celRecordFor(BigInt(this.#cel.length), CEL_TYPE.CCMR, COS_CCMR, content, [TPM_ALG.SHA384]);
    // Extended before it is logged: a log entry whose extension failed would make every later replay fail.
    await extendRtmr(LAUNCH_RTMR, record.digests.get(TPM_ALG.SHA384)!, this.#options.rtmr);
    this.#cel.push(encodeCelRecord(record));
  }

  canonicalEventLog(): Uint8Array {
    return Buffer.concat(this.#cel);
  }

  async attest(nonce: Uint8Array): Promise<PlatformEvidence> {
    const canonicalEventLog = this.canonicalEventLog();
    const quote = await requestTsmReport({
      ...this.#options.tsm,
      inblob: reportDataFor({ nonce, boundKey: this.identity.spki }),
      provider: 'tdx',
    });
    const tdx: TdxQuoteEvidence = { tdQuote: quote.outblob, ...(await this.#ccel()) };
    return { kind: 'tdx', tdx, identityCertificate: this.identity.certificate, canonicalEventLog };
  }

  async #ccel(): Promise<Pick<TdxQuoteEvidence, 'ccelAcpiTable' | 'ccelData'>> {
    const paths = this.#options.ccel ?? CCEL_PATHS;
    if (paths === false) return {};
    const [table, data] = await Promise.all([readOptional(paths.table), readOptional(paths.data)]);
    return table === undefined || data === undefined ? {} : { ccelAcpiTable: table, ccelData: trimCcel(data) };
  }
}

/**
 * Boots the tdx platform. RTMR 3 must still be zero: the launcher is the only one to extend it, once per TD
 * boot, or the verifier's replay of the launch log could not match.
 */
export async function bootTdxPlatform(options: TdxBootOptions): Promise<TdxPlatform> {
  const rtmr3 = await readRtmr(LAUNCH_RTMR, options.rtmr);
  if (!rtmr3.every((b) => b === 0)) {
    throw new AttestError(
      'ERR_ATTEST_PLATFORM',
      'RTMR 3 was extended before the launcher started: a TD measures one launch per boot.',
    );
  }
  return new TdxPlatform(await createInstanceIdentity(options), options);
}
