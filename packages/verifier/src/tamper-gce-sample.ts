// Test-only: the shared GCE COS 85 attestation as the tamper suite uses it, with an image database entry
// for its boot (Google's COS db key v10 and its three boot applications).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyBootLog, verifyTpmEvidence } from '@sealroom/attest';
import type { TpmEvidence, TpmQuote } from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import { toVerifierError } from './appraisal.ts';
import { appraiseBoot } from './boot-appraisal.ts';
import { createImageDatabase } from './image-db.ts';
import { Tally, attempt, flipEveryByte } from './tamper-kit.ts';
import { tcgLogRegions } from './tamper-layouts.ts';

const dir = join(resolveSharedDir(), 'vectors', 'tpm', 'gce-cos-85-nonce9009');
const json = JSON.parse(readFileSync(join(dir, 'attestation.json'), 'utf8'));
const facts = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).expect.eventLogFacts;
export const quotes: TpmQuote[] = json.quotes.map(
  (q: { hashAlgo: number; pcrs: Record<string, string>; quote: string; rawSig: string }) => ({
    hashAlgo: q.hashAlgo,
    pcrValues: new Map(Object.entries(q.pcrs).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')])),
    rawQuote: Buffer.from(q.quote, 'base64'),
    rawSignature: Buffer.from(q.rawSig, 'base64'),
  }),
);
export const intermediate = readFileSync(join(dir, 'ca', 'tpm_ek_intermediate_2.crt'));
/** The intermediate travels in the evidence, so its bytes are evidence too. */
export const evidence: TpmEvidence = {
  quotes,
  akPub: Buffer.from(json.akPub, 'base64'),
  akCert: Buffer.from(json.akCert, 'base64'),
  certChain: [intermediate],
  tcgEventLog: Buffer.from(json.eventLog, 'base64'),
};
export const NONCE = Buffer.from('9009', 'hex');
export const AT = new Date('2026-01-01T00:00:00Z');
export const root = readFileSync(join(dir, 'ca', 'tpm_ek_root_1.cer'));
export const images = createImageDatabase([
  {
    cmdline: (facts.kernelCmdline as string).replace(/[\s\0]+$/, ''),
    imageReleaseName: 'cos-85-test',
    isHardened: false,
    swversion: '85',
    supportAttributes: [],
    secureBootDb: ['a7b8c851deb2acba7c7d0e6ec091c93440f942c65d776fdcb58016f8fd1674b0'],
    bootApplications: { sha1: facts.efiAppDigests['4'], sha256: facts.efiAppDigests['11'] },
  },
]);
export const appraisalOptions = {
  roots: [{ certificate: root, hwmodel: 'GCP_AMD_SEV' as const }],
  intermediates: [],
  images,
  devSwversion: '1',
  at: AT,
};
/** The vector is a plain COS VM without container events: a full appraisal ends there when nothing else fails. */
export const BASELINE = 'ERR_VERIFIER_MISSING_LAUNCH_EVENTS';

/**
 * Flips the log's bytes in [from, to): the quotes are verified once, then each flipped log goes through
 * verifyBootLog, as verifyTpmEvidence runs it, and the boot appraisal. Unmeasured bytes must leave the
 * appraised boot unchanged.
 */
export function tamperLog(from: number, to: number): Tally {
  const verified = verifyTpmEvidence(evidence, { nonce: NONCE, trustedRoots: [root], at: AT });
  const bootOf = (log: Uint8Array) => {
    let boot: ReturnType<typeof verifyBootLog>;
    try {
      boot = verifyBootLog(log, verified.pcrs);
    } catch (error) {
      throw toVerifierError(error);
    }
    const { image, summary } = appraiseBoot(boot.bootState, { images, dev: false, devSwversion: '1' });
    return { image: image.imageReleaseName, summary, grub: boot.bootState.grubCommands };
  };
  const tally = new Tally();
  const log = evidence.tcgEventLog!;
  const run = (m: Buffer) => attempt(() => bootOf(m));
  flipEveryByte(tally, 'TCG log', log, tcgLogRegions(log), run, bootOf(log), [from, to]);
  return tally;
}

/** Where the two files that share the log split it. */
export const LOG_HALF = Math.floor(evidence.tcgEventLog!.length / 2);
