// The tpm platform: a real TPM 2.0 (`/dev/tpmrm0`, or a simulator such as swtpm) attests the launch. The AK is a
// primary key in the endorsement hierarchy made from GCE's AK template (or the template GCE keeps in NV),
// certified by GCE's certificate in NV when present, otherwise by the deployment's platform CA after a
// MakeCredential / ActivateCredential round trip against the TPM's EK (docs/attestation.md "AK enrolment"). PCR 13 carries the launcher's canonical events; every allocated bank is quoted.
import { X509Certificate } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { CEL_TYPE, celRecordFor, encodeCelRecord } from '../eventlog/cel.ts';
import { COS_PCR } from '../eventlog/cos.ts';
import { encodeTcgEventLog } from '../eventlog/tcg.ts';
import { parseQuoteInfo } from '../tpm/attest.ts';
import { TPM_ALG, TPM_ECC_CURVE, digest, findHash } from '../tpm/constants.ts';
import { TPM_RH } from '../tpm/device.ts';
import type { TpmDevice } from '../tpm/device.ts';
import {
  AK_OBJECT_ATTRIBUTES,
  checkAttestationKeyTemplate,
  encodeTpmPublic,
  matchesPublicKey,
  parseTpmPublic,
} from '../tpm/public.ts';
import type { TpmQuote } from '../tpm/quote.ts';
import { readDer } from '@sealroom/formats';
import type { InstanceInfo } from '../x509/instance-info.ts';
import { type AkEnroller, enrolAttestationKey } from './ak-enrolment.ts';
import type { PlatformCa } from './platform-ca.ts';
import type { Platform, TpmPlatformEvidence } from './platform.ts';
import type { ImageFamily } from './soft.ts';
import { softBootCmdline } from './soft.ts';
import { softBootEvents } from './soft-firmware.ts';
import type { SoftFirmwareOptions } from './soft-firmware.ts';

/** GCE's NV indices (go-tpm-tools `client/handles.go`): the ECC AK certificate and the ECC AK template. */
export const GCE_NV_INDEX = { AK_CERT_ECC: 0x01c10002, AK_TEMPLATE_ECC: 0x01c10003 } as const;
const PCRS = Array.from({ length: 24 }, (_, i) => i);
/** PCRs 0–9: what a firmware and boot loader measure before the launcher runs. */
const BOOT_PCRS = PCRS.slice(0, 10);
const QUOTE_ATTEMPTS = 3;

/**
 * GCE's ECC AK template (go-tpm-tools `AKTemplateECC`): a restricted ECDSA P-256 signing key, SHA-256 name,
 * fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign, zero-filled unique point.
 */
export function gceAkTemplateEcc(): Buffer {
  return encodeTpmPublic({
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: AK_OBJECT_ATTRIBUTES,
    authPolicy: new Uint8Array(0),
    symmetric: { alg: TPM_ALG.NULL },
    scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
    curveId: TPM_ECC_CURVE.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL },
    x: new Uint8Array(32),
    y: new Uint8Array(32),
  });
}

export interface TpmBootOptions {
  readonly tpm: TpmDevice;
  /**
   * Certifies the AK when the TPM holds no AK certificate of its own (the deployment's enrolment): the CA here,
   * or its side of the enrolment in another process (the host agent keeps the CA's key).
   */
  readonly ca: PlatformCa | AkEnroller;
  readonly instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>;
  readonly launcherBuild: string;
  readonly imageFamily: ImageFamily;
  readonly nowMs: number;
  /**
   * The TCG event log the machine's firmware wrote (securityfs `binary_bios_measurements`). Without it the
   * TPM must be fresh (PCRs 0–9 and 13 at zero, a simulator started for this boot) and the host measures the
   * soft firmware's boot into it, as a firmware would.
   */
  readonly firmwareEventLog?: Uint8Array;
  readonly firmware?: SoftFirmwareOptions;
}

const refuse = (message: string): never => {
  throw new AttestError('ERR_ATTEST_PLATFORM', message);
};

/** A DER certificate read from NV, without the zero padding an NV index may carry after it. */
function trimDer(bytes: Buffer): Buffer {
  return bytes.subarray(0, readDer(bytes).raw.length);
}

export class TpmPlatform implements Platform {
  readonly kind = 'tpm';
  /** The verifier decides the token's hwmodel from the root the AK certificate chains to; the device claims nothing. */
  readonly hwmodel = 'SOFTWARE';
  readonly tpm: TpmDevice;
  readonly banks: readonly number[];
  readonly akHandle: number;
  readonly akPublicArea: Buffer;
  readonly akCertificate: Buffer;
  /** Whether the AK certificate came from the TPM's NV (GCE) rather than the deployment's platform CA. */
  readonly akCertificateFromNv: boolean;
  readonly #tcgEventLog: Buffer;
  readonly #cel: Buffer[] = [];

  constructor(fields: {
    tpm: TpmDevice;
    banks: readonly number[];
    akHandle: number;
    akPublicArea: Buffer;
    akCertificate: Buffer;
    akCertificateFromNv: boolean;
    tcgEventLog: Buffer;
  }) {
    this.tpm = fields.tpm;
    this.banks = fields.banks;
    this.akHandle = fields.akHandle;
    this.akPublicArea = fields.akPublicArea;
    this.akCertificate = fields.akCertificate;
    this.akCertificateFromNv = fields.akCertificateFromNv;
    this.#tcgEventLog = fields.tcgEventLog;
  }

  async measureEvent(content: Uint8Array): Promise<void> {
    const record = celRecordFor(BigInt(this.#cel.length), CEL_TYPE.PCR, COS_PCR, content, this.banks);
    await this.tpm.pcrExtend(COS_PCR, record.digests);
    this.#cel.push(encodeCelRecord(record));
  }

  canonicalEventLog(): Uint8Array {
    return Buffer.concat(this.#cel);
  }

  /** One bank's quote over all 24 PCRs, with the values read after it; re-quoted if they moved in between. */
  async #quoteBank(alg: number, nonce: Uint8Array): Promise<TpmQuote> {
    for (let attempt = 0; attempt < QUOTE_ATTEMPTS; attempt++) {
      const { rawQuote, rawSignature } = await this.tpm.quote(this.akHandle, nonce, {
        hashAlg: alg,
        pcrs: PCRS,
        sizeOfSelect: 3,
      });
      const values = await this.tpm.pcrRead(alg, PCRS);
      const info = parseQuoteInfo(rawQuote);
      const ordered = PCRS.map((i) => values.get(i)!);
      if (digest(TPM_ALG.SHA256, ...ordered).equals(info.pcrDigest)) {
        return { hashAlgo: alg, pcrValues: values, rawQuote, rawSignature };
      }
    }
    throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'The PCRs kept changing while they were quoted.');
  }

  async attest(nonce: Uint8Array): Promise<TpmPlatformEvidence> {
    if (nonce.length > 64) refuse('The qualifying data exceeds 64 bytes.');
    const quotes: TpmQuote[] = [];
    for (const alg of this.banks) quotes.push(await this.#quoteBank(alg, nonce));
    return {
      kind: 'tpm',
      tpm: {
        quotes,
        akPub: this.akPublicArea,
        akCert: this.akCertificate,
        certChain: [],
        tcgEventLog: this.#tcgEventLog,
        canonicalEventLog: this.canonicalEventLog(),
      },
    };
  }

  /**
   * Flushes the AK and closes the connection to the TPM. `shutdown`: end with an orderly TPM2_Shutdown, for a
   * simulator about to be power-cycled (a device TPM's shutdown is the kernel's).
   */
  async close(options: { readonly shutdown?: boolean } = {}): Promise<void> {
    try {
      await this.tpm.flush(this.akHandle);
      if (options.shutdown === true) await this.tpm.shutdown();
    } finally {
      await this.tpm.close();
    }
  }
}

async function allZero(tpm: TpmDevice, alg: number, pcrs: readonly number[]): Promise<boolean> {
  const values = await tpm.pcrRead(alg, pcrs);
  return [...values.values()].every((v) => v.every((b) => b === 0));
}

/**
 * Boots the launcher's view of a real TPM: start-up, the banks it has, the boot log, the AK and its
 * certificate. The TPM must not have measured a launch yet (PCR 13 at zero): one TPM boot, one launch.
 */
export async function bootTpmPlatform(options: TpmBootOptions): Promise<TpmPlatform> {
  const { tpm } = options;
  await tpm.startup();
  const banks = (await tpm.pcrBanks())
    .filter((b) => findHash(b.alg) !== undefined && b.pcrCount >= PCRS.length)
    .map((b) => b.alg);
  if (!banks.some((alg) => alg !== TPM_ALG.SHA1)) refuse('The TPM has no SHA-256 or stronger PCR bank of 24 PCRs.');
  for (const alg of banks) {
    if (!(await allZero(tpm, alg, [COS_PCR]))) {
      refuse('PCR 13 was extended before the launcher started: the TPM must be reset (a reboot) for a new launch.');
    }
  }
  let tcgEventLog: Buffer;
  if (options.firmwareEventLog !== undefined) {
    tcgEventLog = Buffer.from(options.firmwareEventLog);
  } else {
    for (const alg of banks) {
      if (!(await allZero(tpm, alg, BOOT_PCRS))) {
        refuse('The TPM already holds boot measurements: give the firmware event log, or use a fresh TPM.');
      }
    }
    const cmdline = softBootCmdline(options.launcherBuild, options.imageFamily);
    const events = softBootEvents(options.launcherBuild, cmdline, banks, options.firmware);
    for (const event of events) {
      await tpm.pcrExtend(
        event.pcrIndex,
        new Map(banks.map((alg) => [alg, event.digests?.get(alg) ?? digest(alg, event.data)])),
      );
    }
    tcgEventLog = encodeTcgEventLog(banks, events);
  }
  const template = (await tpm.nvRead(GCE_NV_INDEX.AK_TEMPLATE_ECC)) ?? gceAkTemplateEcc();
  const ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, template);
  try {
    const akPublic = parseTpmPublic(ak.publicArea);
    checkAttestationKeyTemplate(akPublic);
    const nvCert = await tpm.nvRead(GCE_NV_INDEX.AK_CERT_ECC);
    let akCertificate: Buffer;
    if (nvCert !== undefined) {
      akCertificate = trimDer(nvCert);
      if (!matchesPublicKey(akPublic, new X509Certificate(akCertificate).publicKey)) {
        refuse('The AK certificate in NV does not certify the AK the TPM made from its template.');
      }
    } else {
      // The deployment's CA certifies the AK only once the TPM proves the AK is its own (ActivateCredential).
      const enrolled = await enrolAttestationKey({
        tpm,
        ca: options.ca,
        akHandle: ak.handle,
        akPublicArea: ak.publicArea,
        instance: { ...options.instance, securityVersion: '0', isProduction: true },
        nowMs: options.nowMs,
      });
      akCertificate = enrolled.certificate;
    }
    return new TpmPlatform({
      tpm,
      banks,
      akHandle: ak.handle,
      akPublicArea: ak.publicArea,
      akCertificate,
      akCertificateFromNv: nvCert !== undefined,
      tcgEventLog,
    });
  } catch (error) {
    await tpm.flush(ak.handle).catch(() => undefined);
    throw error;
  }
}
