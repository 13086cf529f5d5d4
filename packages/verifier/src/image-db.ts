// The image database: golden boot measurements → release, hardened or debug, swversion and support
// attributes (confidential-space `server/image/image.go`). An entry is keyed by the
// kernel command line and also pins the Secure Boot db and the EFI boot applications of that boot.
import { createHash } from 'node:crypto';
import { TPM_ALG, digest, softBootCmdline, softBootImages, softSecureBootKeys } from '@sealroom/attest';
import type { ImageFamily } from '@sealroom/attest';
import { CoreError, KeptResults } from '@sealroom/core';
import { VerifierError } from './errors.ts';

export const SUPPORT_ATTRIBUTES = ['LATEST', 'STABLE', 'USABLE', 'EXPERIMENTAL'] as const;
export type SupportAttribute = (typeof SUPPORT_ATTRIBUTES)[number];

/** The banks an entry may list boot applications in, by name, with their TPM_ALG_ID and digest size. */
export const BOOT_BANKS = {
  sha1: { alg: TPM_ALG.SHA1, size: 20 },
  sha256: { alg: TPM_ALG.SHA256, size: 32 },
  sha384: { alg: TPM_ALG.SHA384, size: 48 },
  sha512: { alg: TPM_ALG.SHA512, size: 64 },
} as const;
export type BootBank = keyof typeof BOOT_BANKS;

export interface ImageEntry {
  /** The kernel command line as measured, trimmed of whitespace and NULs. */
  readonly cmdline: string;
  readonly imageReleaseName: string;
  readonly isHardened: boolean;
  /** Decimal digits, e.g. "261100". */
  readonly swversion: string;
  readonly supportAttributes: readonly SupportAttribute[];
  /** SHA-256 (hex) of each certificate Secure Boot's db must hold, and nothing else (no hashes either). */
  readonly secureBootDb: readonly string[];
  /** Digests (hex) of the EFI boot applications in boot order, per bank; every bank listed is compared. */
  readonly bootApplications: Readonly<Partial<Record<BootBank, readonly string[]>>>;
  /**
   * The image's hardware launch measurements (hex, 48 bytes): SEV-SNP MEASUREMENT or TDX MRTD. Bare hardware
   * evidence (no vTPM) finds its image by them; with a vTPM, a report's must be one of them when listed.
   */
  readonly launchMeasurements?: readonly string[];
}

export interface ImageDatabase {
  lookup(cmdline: string): ImageEntry | undefined;
  /** The image whose `launchMeasurements` list this SEV-SNP MEASUREMENT or TDX MRTD (hex). */
  lookupLaunch(measurement: string): ImageEntry | undefined;
  entries(): readonly ImageEntry[];
}

const HEX = /^(?:[0-9a-f]{2})+$/;

function checkBootValues(entry: ImageEntry): void {
  const fail = (what: string): never => {
    throw new CoreError('ERR_CONFIG', `Image ${entry.imageReleaseName}: ${what}.`);
  };
  if (entry.secureBootDb.length === 0) fail('secureBootDb lists no certificate');
  if (entry.secureBootDb.some((fp) => !HEX.test(fp) || fp.length !== 64))
    fail('secureBootDb holds a non-SHA-256 value');
  const banks = Object.entries(entry.bootApplications) as Array<[BootBank, readonly string[]]>;
  if (!banks.some(([, digests]) => digests.length > 0)) fail('bootApplications lists no application in any bank');
  for (const [bank, digests] of banks) {
    const size = BOOT_BANKS[bank]?.size ?? fail(`bootApplications has an unknown bank ${bank}`);
    if (digests.some((d) => !HEX.test(d) || d.length !== size * 2)) fail(`a ${bank} boot application is not a digest`);
  }
}

/** Builds the database; a debug image carrying support attributes is refused (debug images get none). */
export function createImageDatabase(entries: readonly ImageEntry[]): ImageDatabase {
  const byCmdline = new Map<string, ImageEntry>();
  for (const entry of entries) {
    if (!entry.isHardened && entry.supportAttributes.length > 0) {
      throw new VerifierError(
        'ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES',
        `Debug image ${entry.imageReleaseName} cannot carry support attributes (${entry.supportAttributes.join(', ')}).`,
      );
    }
    if (!/^[0-9]+$/.test(entry.swversion)) {
      throw new VerifierError(
        'ERR_VERIFIER_UNKNOWN_IMAGE',
        `Image ${entry.imageReleaseName}: swversion must be digits.`,
      );
    }
    checkBootValues(entry);
    byCmdline.set(entry.cmdline, entry);
  }
  const byLaunch = new Map<string, ImageEntry>();
  for (const entry of byCmdline.values()) {
    for (const measurement of entry.launchMeasurements ?? []) byLaunch.set(measurement, entry);
  }
  return {
    lookup: (cmdline) => byCmdline.get(cmdline),
    lookupLaunch: (measurement) => byLaunch.get(measurement),
    entries: () => [...byCmdline.values()],
  };
}

/** The soft platform's image of one launcher build and family: its db key and boot images. */
export function softImageEntry(
  launcherBuild: string,
  imageFamily: ImageFamily,
  swversion: string,
  imageReleaseName: string,
): ImageEntry {
  // Made once per launcher build and family (its boot images hashed), as a loaded database's entries are: a dev
  // deployment appraises soft boots as often as a production one looks its images up.
  return softEntries.get(JSON.stringify([launcherBuild, imageFamily, swversion, imageReleaseName]), () =>
    makeSoftImageEntry(launcherBuild, imageFamily, swversion, imageReleaseName),
  );
}

const softEntries = new KeptResults<string, ImageEntry>(64);

function makeSoftImageEntry(
  launcherBuild: string,
  imageFamily: ImageFamily,
  swversion: string,
  imageReleaseName: string,
): ImageEntry {
  const hardened = imageFamily === 'confidential-space';
  const images = softBootImages(launcherBuild);
  const hex = (alg: number) => images.map((image) => digest(alg, image).toString('hex'));
  return {
    cmdline: softBootCmdline(launcherBuild, imageFamily),
    imageReleaseName,
    isHardened: hardened,
    swversion,
    supportAttributes: hardened ? ['LATEST', 'STABLE', 'USABLE'] : [],
    secureBootDb: [createHash('sha256').update(softSecureBootKeys().db).digest('hex')],
    bootApplications: { sha256: hex(TPM_ALG.SHA256), sha384: hex(TPM_ALG.SHA384) },
  };
}

/** The two soft-platform images of one launcher build: hardened (LATEST, STABLE, USABLE) and debug (none). */
export function softImageEntries(launcherBuild: string, swversion: string): ImageEntry[] {
  return [
    softImageEntry(launcherBuild, 'confidential-space', swversion, `sealroom-soft-${swversion}`),
    softImageEntry(launcherBuild, 'confidential-space-debug', swversion, `sealroom-soft-debug-${swversion}`),
  ];
}
