import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyTpmEvidence } from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import { appraiseTpmEvidence } from './appraisal.ts';
import { appraiseBoot } from './boot-appraisal.ts';
import { createImageDatabase } from './image-db.ts';
import type { ImageEntry } from './image-db.ts';

const dir = join(resolveSharedDir(), 'vectors', 'tpm', 'gce-cos-85-nonce9009');
const json = JSON.parse(readFileSync(join(dir, 'attestation.json'), 'utf8'));
const facts = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).expect.eventLogFacts;
const evidence = {
  quotes: json.quotes.map((q: { hashAlgo: number; pcrs: Record<string, string>; quote: string; rawSig: string }) => ({
    hashAlgo: q.hashAlgo,
    pcrValues: new Map(Object.entries(q.pcrs).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')])),
    rawQuote: Buffer.from(q.quote, 'base64'),
    rawSignature: Buffer.from(q.rawSig, 'base64'),
  })),
  akCert: Buffer.from(json.akCert, 'base64'),
  certChain: [],
  tcgEventLog: Buffer.from(json.eventLog, 'base64'),
};
const root = readFileSync(join(dir, 'ca', 'tpm_ek_root_1.cer'));
const intermediate = readFileSync(join(dir, 'ca', 'tpm_ek_intermediate_2.crt'));
const NONCE = Buffer.from('9009', 'hex');
/** SHA-256 of Google's COS db certificate v10 (confidential-space `server/image/data/cos_db_v10.pem`). */
const COS_DB_V10 = 'a7b8c851deb2acba7c7d0e6ec091c93440f942c65d776fdcb58016f8fd1674b0';
const cos85: ImageEntry = {
  cmdline: (facts.kernelCmdline as string).replace(/[\s\0]+$/, ''),
  imageReleaseName: 'cos-85-test',
  isHardened: false,
  swversion: '85',
  supportAttributes: [],
  secureBootDb: [COS_DB_V10],
  bootApplications: { sha256: facts.efiAppDigests['11'], sha384: facts.efiAppDigests['12'] },
};
const options = (entry: Partial<ImageEntry> = {}, extra: Record<string, unknown> = {}) => ({
  roots: [{ certificate: root, hwmodel: 'GCP_AMD_SEV' as const }],
  intermediates: [intermediate],
  images: createImageDatabase([{ ...cos85, ...entry }]),
  devSwversion: '1',
  at: new Date('2026-01-01T00:00:00Z'),
  ...extra,
});

const bootOptions = { images: createImageDatabase([cos85]), dev: false, devSwversion: '1' };
const verifiedBoot = () =>
  verifyTpmEvidence(evidence, {
    nonce: NONCE,
    trustedRoots: [root],
    intermediates: [intermediate],
    at: new Date('2026-01-01T00:00:00Z'),
  }).bootState!;

/** The appraisal of the real evidence stops at the first failing check; the vector has no container events. */
function appraisalError(opts: ReturnType<typeof options>, tcgEventLog = evidence.tcgEventLog): { code?: string } {
  try {
    appraiseTpmEvidence({ ...evidence, tcgEventLog }, NONCE, opts);
  } catch (error) {
    return error as { code?: string };
  }
  throw new Error('accepted');
}

describe('appraisal of real GCE evidence (shared vector) with a configured root and image database', () => {
  it('passes platform, instance and boot (Secure Boot db, boot applications, command line), then wants launch events', () => {
    // The vector is a plain COS VM: everything up to the boot passes; it has no CEL.
    assert.equal(appraisalError(options()).code, 'ERR_VERIFIER_MISSING_LAUNCH_EVENTS');
  });

  it('reports the boot it appraised: the COS v10 db key, the three applications, the command line', () => {
    const { image, summary } = appraiseBoot(verifiedBoot(), bootOptions);
    assert.equal(image.imageReleaseName, 'cos-85-test');
    assert.deepEqual(summary.secureBoot, { enabled: true, db: [COS_DB_V10] });
    assert.deepEqual(summary.bootApplications, {
      sha1: facts.efiAppDigests['4'],
      sha256: facts.efiAppDigests['11'],
      sha384: facts.efiAppDigests['12'],
    });
    assert.equal(summary.kernelCmdline, cos85.cmdline);
  });

  it('refuses an image the database does not know', () => {
    assert.equal(appraisalError(options({ cmdline: 'another image' })).code, 'ERR_VERIFIER_UNKNOWN_IMAGE');
  });

  it('refuses when the image database expects another Secure Boot db key', () => {
    assert.equal(appraisalError(options({ secureBootDb: ['0'.repeat(64)] })).code, 'ERR_VERIFIER_SECURE_BOOT');
  });

  it('refuses when the image database expects a second db key too', () => {
    const two = options({ secureBootDb: [COS_DB_V10, '0'.repeat(64)] });
    assert.equal(appraisalError(two).code, 'ERR_VERIFIER_SECURE_BOOT');
  });

  it('refuses other boot applications with the same command line', () => {
    const other = [...facts.efiAppDigests['11']];
    other[2] = '0'.repeat(64);
    assert.equal(
      appraisalError(options({ bootApplications: { sha256: other } })).code,
      'ERR_VERIFIER_BOOT_APPLICATIONS',
    );
  });

  it('compares every bank the entry lists: a wrong SHA-384 list is refused although SHA-256 matches', () => {
    const entry = { bootApplications: { sha256: facts.efiAppDigests['11'], sha384: ['0'.repeat(96)] } };
    assert.equal(appraisalError(options(entry)).code, 'ERR_VERIFIER_BOOT_APPLICATIONS');
  });

  it('refuses a boot whose ExitBootServices was not measured (its boot applications are not final)', () => {
    const { bootApplications: _, ...unfinished } = verifiedBoot();
    assert.throws(() => appraiseBoot(unfinished, bootOptions), { code: 'ERR_VERIFIER_BOOT_APPLICATIONS' });
  });

  it('refuses it when the GCE root is not trusted', () => {
    assert.equal(appraisalError(options({}, { intermediates: [] })).code, 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
  });
});
