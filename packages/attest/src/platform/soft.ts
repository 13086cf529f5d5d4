// The soft platform: an in-process TPM whose firmware (soft-firmware.ts) measures the launcher build and the
// image family, and whose AK certificate (from the platform CA) carries the instance identity. hwmodel SOFTWARE.
import { type KeyObject, X509Certificate } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { digest } from '../tpm/constants.ts';
import { CEL_TYPE, celRecordFor, encodeCelRecord } from '../eventlog/cel.ts';
import { COS_PCR } from '../eventlog/cos.ts';
import { encodeTcgEventLog } from '../eventlog/tcg.ts';
import type { InstanceInfo } from '../x509/instance-info.ts';
import type { PlatformCa } from './platform-ca.ts';
import { softBootEvents } from './soft-firmware.ts';
import type { SoftFirmwareOptions } from './soft-firmware.ts';
import type { Platform, TpmPlatformEvidence } from './platform.ts';
import { SOFT_TPM_BANKS, SoftTpm } from './soft-tpm.ts';
import type { AkAlgorithm } from './soft-tpm.ts';

export type ImageFamily = 'confidential-space' | 'confidential-space-debug';

export interface SoftBootOptions {
  readonly ca: PlatformCa;
  readonly instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>;
  /** Digest of the launcher build that boots (e.g. `sha256:…` of its bundle). */
  readonly launcherBuild: string;
  readonly imageFamily: ImageFamily;
  readonly nowMs: number;
  readonly akAlgorithm?: AkAlgorithm;
  /** What the firmware boots (Secure Boot, boot images); the soft platform's own boot by default. */
  readonly firmware?: SoftFirmwareOptions;
}

/**
 * The kernel command line the soft platform measures into PCR 8: the image identity the verifier's image
 * database is keyed by, as GCE's COS images are keyed by their GRUB command line.
 */
export function softBootCmdline(launcherBuild: string, imageFamily: ImageFamily): string {
  const hardened = imageFamily === 'confidential-space';
  return `sealroom.image_family=${imageFamily} sealroom.launcher=${launcherBuild} confidential-space.hardened=${hardened}`;
}

export class SoftPlatform implements Platform {
  readonly kind = 'soft';
  readonly hwmodel = 'SOFTWARE';
  readonly tpm: SoftTpm;
  #akCertificate: Buffer;
  readonly #tcgEventLog: Buffer;
  readonly #cel: Buffer[] = [];

  constructor(options: SoftBootOptions) {
    this.tpm = new SoftTpm(options.akAlgorithm === undefined ? {} : { akAlgorithm: options.akAlgorithm });
    const algs = [...SOFT_TPM_BANKS];
    const cmdline = softBootCmdline(options.launcherBuild, options.imageFamily);
    const events = softBootEvents(options.launcherBuild, cmdline, algs, options.firmware);
    for (const event of events) {
      for (const alg of algs) this.tpm.extend(event.pcrIndex, alg, event.digests?.get(alg) ?? digest(alg, event.data));
    }
    this.#tcgEventLog = encodeTcgEventLog(algs, events);
    this.#akCertificate = options.ca.issueAkCertificate(
      this.tpm.akPublicKey,
      { ...options.instance, securityVersion: '0', isProduction: true },
      options.nowMs,
    );
  }

  get akCertificate(): Buffer {
    return this.#akCertificate;
  }

  /** For `bootSoftPlatformCertifiedBy`: the certificate arrives after the AK exists. */
  setAkCertificate(certificate: Buffer): void {
    this.#akCertificate = certificate;
  }

  async measureEvent(content: Uint8Array): Promise<void> {
    const record = celRecordFor(BigInt(this.#cel.length), CEL_TYPE.PCR, COS_PCR, content, [...SOFT_TPM_BANKS]);
    for (const [alg, value] of record.digests) this.tpm.extend(COS_PCR, alg, value);
    this.#cel.push(encodeCelRecord(record));
  }

  canonicalEventLog(): Uint8Array {
    return Buffer.concat(this.#cel);
  }

  async attest(nonce: Uint8Array): Promise<TpmPlatformEvidence> {
    return {
      kind: 'tpm',
      tpm: {
        quotes: SOFT_TPM_BANKS.map((alg) => this.tpm.quote(alg, nonce)),
        akPub: this.tpm.akPublicArea,
        akCert: this.akCertificate,
        certChain: [],
        tcgEventLog: this.#tcgEventLog,
        canonicalEventLog: this.canonicalEventLog(),
      },
    };
  }
}

/** Boots a fresh soft platform: new PCRs, new AK, new AK certificate. A restart is a new boot. */
export function bootSoftPlatform(options: SoftBootOptions): SoftPlatform {
  return new SoftPlatform(options);
}

/** Certifies an AK for an instance somewhere else (the control plane keeps the platform CA; a host asks it). */
export type AkCertifier = (
  akPublicKey: KeyObject,
  instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>,
) => Promise<Buffer>;

/**
 * Boots a soft platform whose AK certificate comes from `certify` (a remote host's boot: the platform CA
 * stays with the control plane). The certificate must be for this AK; anything else fails the boot.
 */
export async function bootSoftPlatformCertifiedBy(
  options: Omit<SoftBootOptions, 'ca'>,
  certify: AkCertifier,
): Promise<SoftPlatform> {
  const pending: PlatformCa = {
    certificate: Buffer.alloc(0),
    exportPrivateKey: () => Buffer.alloc(0),
    issueAkCertificate: () => Buffer.alloc(0),
  };
  const platform = new SoftPlatform({ ...options, ca: pending });
  const certificate = await certify(platform.tpm.akPublicKey, options.instance);
  const certified = new X509Certificate(certificate).publicKey;
  const ours = platform.tpm.akPublicKey;
  if (!certified.equals(ours))
    throw new AttestError('ERR_ATTEST_AK_MISMATCH', 'The AK certificate received is not for this attestation key.');
  platform.setAkCertificate(certificate);
  return platform;
}
