// The sev-snp platform: SEV-SNP reports through configfs-tsm. SEV-SNP has no runtime measurement register, so
// the launcher keeps one in software (CC MR 4, SHA-384) and binds its value, with the challenge and the instance
// identity key, into each report's report_data.
import { CEL_TYPE, celRecordFor, encodeCelRecord } from '../eventlog/cel.ts';
import { COS_CCMR } from '../eventlog/cos.ts';
import { reportDataFor } from '../report-data.ts';
import { TPM_ALG, digest } from '../tpm/constants.ts';
import { type TsmOptions, requestTsmReport } from '../tsm/configfs.ts';
import { parseSnpCertTable } from '../tsm/cert-table.ts';
import { type IdentityOptions, type InstanceIdentity, createInstanceIdentity } from './identity.ts';
import type { Platform, PlatformEvidence } from './platform.ts';

export interface SevSnpBootOptions extends IdentityOptions {
  readonly tsm?: TsmOptions;
  /** The VMPL to request reports at; the kernel's own choice when absent. */
  readonly vmpl?: number;
}

export class SevSnpPlatform implements Platform {
  readonly kind = 'sev-snp';
  readonly hwmodel = 'AMD_SEV_SNP';
  readonly identity: InstanceIdentity;
  readonly #tsm: TsmOptions;
  readonly #vmpl: number | undefined;
  readonly #cel: Buffer[] = [];
  #register: Buffer = Buffer.alloc(48);

  constructor(identity: InstanceIdentity, tsm: TsmOptions, vmpl?: number) {
    this.identity = identity;
    this.#tsm = tsm;
    this.#vmpl = vmpl;
  }

  async measureEvent(content: Uint8Array): Promise<void> {
    const record = celRecordFor(BigInt(this.#cel.length), CEL_TYPE.CCMR, COS_CCMR, content, [TPM_ALG.SHA384]);
    this.#register = digest(TPM_ALG.SHA384, this.#register, record.digests.get(TPM_ALG.SHA384)!);
    this.#cel.push(encodeCelRecord(record));
  }

  canonicalEventLog(): Uint8Array {
    return Buffer.concat(this.#cel);
  }

  /** The software launch register: the SHA-384 replay of the canonical event log. */
  launchRegister(): Buffer {
    return Buffer.from(this.#register);
  }

  async attest(nonce: Uint8Array): Promise<PlatformEvidence> {
    // Log and register are read together, before the await, so the report binds the log sent with it.
    const canonicalEventLog = this.canonicalEventLog();
    const inblob = reportDataFor({ nonce, boundKey: this.identity.spki, launchRegister: this.launchRegister() });
    const report = await requestTsmReport({
      ...this.#tsm,
      inblob,
      provider: 'sev-snp',
      ...(this.#vmpl === undefined ? {} : { privlevel: this.#vmpl }),
    });
    const auxBlob = report.auxblob ?? Buffer.alloc(0);
    parseSnpCertTable(auxBlob);
    return {
      kind: 'sev-snp',
      sevSnp: { report: report.outblob, auxBlob },
      identityCertificate: this.identity.certificate,
      canonicalEventLog,
    };
  }
}

/** Boots the sev-snp platform: a fresh identity and launch register; configfs-tsm is probed by the first report. */
export async function bootSevSnpPlatform(options: SevSnpBootOptions): Promise<SevSnpPlatform> {
  return new SevSnpPlatform(await createInstanceIdentity(options), options.tsm ?? {}, options.vmpl);
}
