import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSharedDir } from '@sealroom/core';
import { appraiseTpmEvidence } from './appraisal.ts';
import { createImageDatabase } from './image-db.ts';

const dir = join(resolveSharedDir(), 'vectors', 'tpm', 'gce-cos-85-nonce9009');
const json = JSON.parse(readFileSync(join(dir, 'attestation.json'), 'utf8'));
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
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
const cmdline = (expected.expect.eventLogFacts.kernelCmdline as string).replace(/[\s\0]+$/, '');
const options = {
  roots: [{ certificate: root, hwmodel: 'GCP_AMD_SEV' as const }],
  intermediates: [intermediate],
  images: createImageDatabase([
    { cmdline, imageReleaseName: 'cos-85-test', isHardened: false, swversion: '85', supportAttributes: [] },
  ]),
  devSwversion: '1',
  at: new Date('2026-01-01T00:00:00Z'),
};

describe('appraisal of real GCE evidence (shared vector) with a configured root and image database', () => {
  it('verifies platform, instance and image, then refuses the missing container launch events', () => {
    // The vector is a plain COS VM: everything up to the image database passes; it has no CEL.
    assert.throws(() => appraiseTpmEvidence(evidence, Buffer.from('9009', 'hex'), options), {
      code: 'ERR_VERIFIER_MISSING_LAUNCH_EVENTS',
    });
  });

  it('refuses an image the database does not know', () => {
    assert.throws(
      () => appraiseTpmEvidence(evidence, Buffer.from('9009', 'hex'), { ...options, images: createImageDatabase([]) }),
      {
        code: 'ERR_VERIFIER_UNKNOWN_IMAGE',
      },
    );
  });

  it('refuses it when the GCE root is not trusted', () => {
    assert.throws(() => appraiseTpmEvidence(evidence, Buffer.from('9009', 'hex'), { ...options, intermediates: [] }), {
      code: 'ERR_VERIFIER_UNTRUSTED_PLATFORM',
    });
  });
});
