// The boot appraised against the image database, as Google's verifier does (confidential-space
// `server/image/image.go`): the measured kernel command line finds the entry, then Secure Boot must be on
// with exactly the entry's db, and the measured EFI boot applications must be the entry's.
import { createHash } from 'node:crypto';
import type { BootState } from '@sealroom/attest';
import { normalizeCmdline } from '@sealroom/attest';
import { deepFreeze } from '@sealroom/core';
import { VerifierError } from './errors.ts';
import { BOOT_BANKS, softImageEntry } from './image-db.ts';
import type { BootBank, ImageDatabase, ImageEntry } from './image-db.ts';

/** The boot as the verifier read it, for the audit log and for tests (fingerprints and digests in hex). */
export interface BootSummary {
  readonly kernelCmdline: string;
  readonly secureBoot: { readonly enabled: boolean; readonly db: readonly string[] };
  readonly bootApplications: Readonly<Partial<Record<BootBank, readonly string[]>>>;
}

export interface BootAppraisalOptions {
  readonly images: ImageDatabase;
  /** The evidence chains to the soft platform's CA in dev mode: unknown soft boots get a dev entry. */
  readonly dev: boolean;
  readonly devSwversion: string;
}

const SOFT_CMDLINE =
  /^sealroom\.image_family=(confidential-space(?:-debug)?) sealroom\.launcher=(sha256:[0-9a-f]{64}) confidential-space\.hardened=(true|false)$/;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function hardenedFlag(cmdline: string): boolean | undefined {
  const match = /(?:^|\s)confidential-space\.hardened=(true|false)(?:\s|$)/.exec(cmdline);
  return match === null ? undefined : match[1] === 'true';
}

/** Summaries of boot states read from kept boot logs (attest's verifyBootLog): one per state, not per attestation. */
const summaries = new WeakMap<BootState, BootSummary>();

export function summarizeBoot(boot: BootState): BootSummary {
  let summary = summaries.get(boot);
  if (summary === undefined) {
    summary = deepFreeze(summarize(boot));
    // Only a state nobody can change afterwards is a key: a mutable one could be changed under its summary.
    if (Object.isFrozen(boot)) summaries.set(boot, summary);
  }
  return summary;
}

function summarize(boot: BootState): BootSummary {
  const bootApplications: Partial<Record<BootBank, string[]>> = {};
  for (const [bank, { alg }] of Object.entries(BOOT_BANKS) as Array<[BootBank, { alg: number }]>) {
    const digests = boot.bootApplications?.get(alg);
    if (digests !== undefined) bootApplications[bank] = digests.map(hex);
  }
  return {
    kernelCmdline: normalizeCmdline(boot.kernelCmdline ?? ''),
    secureBoot: {
      enabled: boot.secureBoot.enabled,
      db: boot.secureBoot.db.certificates.map((der) => createHash('sha256').update(der).digest('hex')),
    },
    bootApplications,
  };
}

function findImage(cmdline: string, options: BootAppraisalOptions): ImageEntry {
  const entry = options.images.lookup(cmdline);
  if (entry !== undefined) return entry;
  const soft = SOFT_CMDLINE.exec(cmdline);
  if (options.dev && soft !== null) {
    const family = soft[1] as 'confidential-space' | 'confidential-space-debug';
    return softImageEntry(soft[2]!, family, options.devSwversion, `sealroom-soft-dev-${options.devSwversion}`);
  }
  throw new VerifierError('ERR_VERIFIER_UNKNOWN_IMAGE', 'The boot measurement is not in the image database.');
}

/** Secure Boot on, no db hashes, and exactly the entry's db certificates (image.go validateBaseValues). */
function checkSecureBoot(summary: BootSummary, boot: BootState, entry: ImageEntry): void {
  const refuse = (why: string): never => {
    throw new VerifierError('ERR_VERIFIER_SECURE_BOOT', `${why} (image ${entry.imageReleaseName}).`);
  };
  if (!summary.secureBoot.enabled) refuse('Secure Boot was off at boot');
  if (boot.secureBoot.db.hashes.length > 0) refuse("Secure Boot's db permits image hashes");
  const measured = [...summary.secureBoot.db].sort();
  const expected = [...entry.secureBootDb].sort();
  if (measured.length !== expected.length || measured.some((fp, i) => fp !== expected[i])) {
    refuse("Secure Boot's db holds other certificates than the image database expects");
  }
}

/** Every bank the entry lists and the log was verified in must give the entry's applications, in order. */
function checkBootApplications(summary: BootSummary, boot: BootState, entry: ImageEntry): void {
  const refuse = (why: string): never => {
    throw new VerifierError('ERR_VERIFIER_BOOT_APPLICATIONS', `${why} (image ${entry.imageReleaseName}).`);
  };
  if (boot.bootApplications === undefined) refuse('ExitBootServices was not measured, so the boot is not complete');
  let compared = 0;
  for (const [bank, expected] of Object.entries(entry.bootApplications) as Array<[BootBank, readonly string[]]>) {
    const measured = summary.bootApplications[bank];
    if (measured === undefined) continue;
    compared++;
    if (measured.length !== expected.length || measured.some((d, i) => d !== expected[i])) {
      refuse(`The measured ${bank} boot applications differ from the image database`);
    }
  }
  if (compared === 0) refuse('No verified bank holds the boot applications the image database lists');
}

/**
 * Finds the image entry of a boot and checks the boot against it; throws the check's own code. A debug
 * boot (hardened=false measured) never gets an entry that claims hardened support attributes.
 */
export function appraiseBoot(
  boot: BootState | undefined,
  options: BootAppraisalOptions,
): { image: ImageEntry; summary: BootSummary } {
  if (boot?.kernelCmdline === undefined) {
    throw new VerifierError('ERR_VERIFIER_UNKNOWN_IMAGE', 'The event log has no measured kernel command line.');
  }
  const summary = summarizeBoot(boot);
  const entry = findImage(summary.kernelCmdline, options);
  checkSecureBoot(summary, boot, entry);
  checkBootApplications(summary, boot, entry);
  const measuredHardened = hardenedFlag(summary.kernelCmdline);
  if (measuredHardened === false && entry.isHardened && entry.supportAttributes.length > 0) {
    throw new VerifierError(
      'ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES',
      `A debug boot cannot get the support attributes of hardened image ${entry.imageReleaseName}.`,
    );
  }
  if (measuredHardened !== undefined && measuredHardened !== entry.isHardened) {
    throw new VerifierError('ERR_VERIFIER_UNKNOWN_IMAGE', 'The measured hardened flag contradicts the image database.');
  }
  return { image: entry, summary };
}
