// Tamper suite, real GCE evidence: every byte of the quotes, signatures, PCR values, AK public area and
// certificates of the shared COS 85 attestation flipped, each refused by the check that owns it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TpmEvidence, TpmQuote } from '@sealroom/attest';
import { appraiseTpmEvidence } from './appraisal.ts';
import { BASELINE, NONCE, appraisalOptions, evidence, intermediate, quotes } from './tamper-gce-sample.ts';
import { Layout, Tally, attempt, flipEveryByte } from './tamper-kit.ts';
import type { Outcome } from './tamper-kit.ts';
import { quoteRegions, signatureRegions, tpmPublicRegions } from './tamper-layouts.ts';

function appraise(tampered: TpmEvidence): Outcome {
  return attempt(() => appraiseTpmEvidence(tampered, NONCE, appraisalOptions));
}

const withQuote = (i: number, change: Partial<TpmQuote>): TpmEvidence => ({
  ...evidence,
  quotes: quotes.map((q, j) => (i === j ? { ...q, ...change } : q)),
});

describe('tamper suite: real GCE TPM evidence (shared vector), every byte flipped', () => {
  it('the untouched evidence passes every check up to the missing container launch events', () => {
    assert.deepEqual(appraise(evidence), { code: BASELINE });
  });

  for (const [i, quote] of quotes.entries()) {
    it(`quote ${i} (bank ${quote.hashAlgo}): TPMS_ATTEST, TPMT_SIGNATURE and every PCR value`, (t) => {
      const tally = new Tally();
      flipEveryByte(tally, `quote ${i} TPMS_ATTEST`, quote.rawQuote, quoteRegions(quote.rawQuote), (m) =>
        appraise(withQuote(i, { rawQuote: m })),
      );
      flipEveryByte(tally, `quote ${i} TPMT_SIGNATURE`, quote.rawSignature, signatureRegions(quote.rawSignature), (m) =>
        appraise(withQuote(i, { rawSignature: m })),
      );
      const pcrs = [...quote.pcrValues];
      const values = Buffer.concat(pcrs.map(([, v]) => v));
      const size = values.length / pcrs.length;
      const regions = new Layout();
      for (const [pcr] of pcrs) regions.field(`PCR ${pcr}`, size, 'ERR_ATTEST_PCR_DIGEST_MISMATCH');
      flipEveryByte(tally, `quote ${i} PCR values`, values, regions.regions, (m) =>
        appraise(
          withQuote(i, { pcrValues: new Map(pcrs.map(([pcr], k) => [pcr, m.subarray(k * size, (k + 1) * size)])) }),
        ),
      );
      t.diagnostic(tally.summary());
      tally.assertClean();
    });
  }

  it('the AK public area (TPMT_PUBLIC)', (t) => {
    const tally = new Tally();
    const akPub = evidence.akPub!;
    flipEveryByte(tally, 'akPub', akPub, tpmPublicRegions(akPub, 'ERR_ATTEST_MALFORMED_TPM'), (m) =>
      appraise({ ...evidence, akPub: m }),
    );
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('the AK certificate and the intermediate it chains through', (t) => {
    const tally = new Tally();
    const whole = (der: Uint8Array, name: string) =>
      new Layout().field(name, der.length, 'ERR_ATTEST_CERT_CHAIN').regions;
    flipEveryByte(tally, 'AK certificate', evidence.akCert, whole(evidence.akCert, 'DER'), (m) =>
      appraise({ ...evidence, akCert: m }),
    );
    flipEveryByte(tally, 'intermediate', intermediate, whole(intermediate, 'DER'), (m) =>
      appraise({ ...evidence, certChain: [m] }),
    );
    t.diagnostic(tally.summary());
    tally.assertClean();
  });
});
