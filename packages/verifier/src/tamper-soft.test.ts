// Tamper suite, the soft platform's evidence as a launched instance sends it: every byte of its quotes,
// signatures, PCR values, AK public area, AK certificate, TCG log and canonical event log flipped, and every
// field of the evidence changed; each refused with the code of the check that owns it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CEL_TYPE,
  COS_TYPE,
  bootSoftPlatform,
  createPlatformCa,
  decodeCel,
  encodeCel,
  encodeCosContent,
  verifyBootLog,
  verifyLaunchLog,
  verifyTpmEvidence,
} from '@sealroom/attest';
import type { SoftBootOptions, TpmEvidence, TpmQuote } from '@sealroom/attest';
import { softBootOptions } from '@sealroom/attest/testing';
import { appraiseTpmEvidence, toVerifierError } from './appraisal.ts';
import { appraiseBoot } from './boot-appraisal.ts';
import { createImageDatabase } from './image-db.ts';
import { Layout, Tally, attempt, flipEveryByte } from './tamper-kit.ts';
import type { Outcome } from './tamper-kit.ts';
import { celRegions, quoteRegions, signatureRegions, tcgLogRegions, tpmPublicRegions } from './tamper-layouts.ts';

const NOW = Date.UTC(2026, 5, 1);
const ca = createPlatformCa(NOW);
const boot: SoftBootOptions = softBootOptions(ca, NOW);
const NONCE = Buffer.from('0123456789abcdef0123456789abcdef');

async function launched(options: SoftBootOptions = boot, imageRef = 'reg/p/r/img') {
  const platform = bootSoftPlatform(options);
  const events: Array<[number, string | Uint8Array]> = [
    [COS_TYPE.IMAGE_REF, imageRef],
    [COS_TYPE.IMAGE_DIGEST, `sha256:${'a'.repeat(64)}`],
    [COS_TYPE.RESTART_POLICY, 'Never'],
    [COS_TYPE.IMAGE_ID, `sha256:${'e'.repeat(64)}`],
    [COS_TYPE.ARG, '/app'],
    [COS_TYPE.ENV_VAR, 'PATH=/bin'],
    [COS_TYPE.MEMORY_MONITOR, Uint8Array.of(0)],
    [COS_TYPE.LAUNCH_SEPARATOR, ''],
  ];
  for (const [type, value] of events) await platform.measureEvent(encodeCosContent(type, value));
  return platform;
}

const options = {
  roots: [{ certificate: ca.certificate, hwmodel: 'SOFTWARE' as const, dev: true }],
  intermediates: [],
  images: createImageDatabase([]),
  devSwversion: '261100',
  at: new Date(NOW),
};
const appraise = (evidence: TpmEvidence): Outcome => attempt(() => appraiseTpmEvidence(evidence, NONCE, options));

describe('tamper suite: soft platform evidence, every byte flipped and every field changed', async () => {
  const evidence = (await (await launched()).attest(NONCE)).tpm;
  const other = (
    await (await launched({ ...boot, imageFamily: 'confidential-space-debug' }, 'reg/p/r/other')).attest(NONCE)
  ).tpm;
  const withQuote = (i: number, change: Partial<TpmQuote>): TpmEvidence => ({
    ...evidence,
    quotes: evidence.quotes.map((q, j) => (i === j ? { ...q, ...change } : q)),
  });

  it('the untouched evidence is accepted', () => {
    assert.ok('accepted' in appraise(evidence));
  });

  it('every byte of each quote, signature and PCR value', (t) => {
    const tally = new Tally();
    for (const [i, quote] of evidence.quotes.entries()) {
      flipEveryByte(tally, `quote ${i} TPMS_ATTEST`, quote.rawQuote, quoteRegions(quote.rawQuote), (m) =>
        appraise(withQuote(i, { rawQuote: m })),
      );
      flipEveryByte(tally, `quote ${i} TPMT_SIGNATURE`, quote.rawSignature, signatureRegions(quote.rawSignature), (m) =>
        appraise(withQuote(i, { rawSignature: m })),
      );
      const pcrs = [...quote.pcrValues];
      const size = pcrs[0]![1].length;
      const regions = new Layout();
      for (const [pcr] of pcrs) regions.field(`PCR ${pcr}`, size, 'ERR_ATTEST_PCR_DIGEST_MISMATCH');
      flipEveryByte(tally, `quote ${i} PCR values`, Buffer.concat(pcrs.map(([, v]) => v)), regions.regions, (m) =>
        appraise(
          withQuote(i, { pcrValues: new Map(pcrs.map(([pcr], k) => [pcr, m.subarray(k * size, (k + 1) * size)])) }),
        ),
      );
    }
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('every byte of the AK public area and the AK certificate', (t) => {
    const tally = new Tally();
    const akPub = evidence.akPub!;
    flipEveryByte(tally, 'akPub', akPub, tpmPublicRegions(akPub, 'ERR_ATTEST_MALFORMED_TPM'), (m) =>
      appraise({ ...evidence, akPub: m }),
    );
    const cert = new Layout().field('DER', evidence.akCert.length, 'ERR_ATTEST_CERT_CHAIN').regions;
    flipEveryByte(tally, 'AK certificate', evidence.akCert, cert, (m) => appraise({ ...evidence, akCert: m }));
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('every byte of the TCG event log, through the log step and the boot appraisal', (t) => {
    const verified = verifyTpmEvidence(evidence, { nonce: NONCE, trustedRoots: [ca.certificate], at: new Date(NOW) });
    const bootOf = (log: Uint8Array) => {
      let read: ReturnType<typeof verifyBootLog>;
      try {
        read = verifyBootLog(log, verified.pcrs);
      } catch (error) {
        throw toVerifierError(error);
      }
      return appraiseBoot(read.bootState, { images: options.images, dev: true, devSwversion: '261100' }).summary;
    };
    const tally = new Tally();
    const log = evidence.tcgEventLog!;
    flipEveryByte(tally, 'TCG log', log, tcgLogRegions(log), (m) => attempt(() => bootOf(m)), bootOf(log));
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('every byte of the canonical event log, through the launch-log step', (t) => {
    const verified = verifyTpmEvidence(evidence, { nonce: NONCE, trustedRoots: [ca.certificate], at: new Date(NOW) });
    const tally = new Tally();
    const cel = evidence.canonicalEventLog!;
    flipEveryByte(tally, 'CEL', cel, celRegions(cel), (m) =>
      attempt(() => {
        try {
          return verifyLaunchLog(m, verified.pcrs);
        } catch (error) {
          throw toVerifierError(error);
        }
      }),
    );
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('every field of the evidence', (t) => {
    const records = decodeCel(evidence.canonicalEventLog!);
    const renumbered = (r: typeof records) => encodeCel(r.map((rec, i) => ({ ...rec, recnum: BigInt(i) })));
    const [q0, q1] = evidence.quotes as [TpmQuote, TpmQuote];
    const { akPub: _, ...withoutAkPub } = evidence;
    const fields: ReadonlyArray<[string, TpmEvidence, string]> = [
      ['no quote', { ...evidence, quotes: [] }, 'ERR_ATTEST_UNSUPPORTED_ALGORITHM'],
      ['a quote twice', { ...evidence, quotes: [q0, q0, q1] }, 'ERR_ATTEST_PCR_DIGEST_MISMATCH'],
      [
        "one quote's TPMS_ATTEST under another's signature",
        withQuote(0, { rawQuote: q1.rawQuote }),
        'ERR_ATTEST_QUOTE_SIGNATURE',
      ],
      [
        "one bank's quote and signature under another bank",
        withQuote(0, { rawQuote: q1.rawQuote, rawSignature: q1.rawSignature }),
        'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      ],
      ['hashAlgo of another known bank', withQuote(0, { hashAlgo: 0x0004 }), 'ERR_ATTEST_PCR_DIGEST_MISMATCH'],
      ['hashAlgo of an unknown bank', withQuote(0, { hashAlgo: 0x0012 }), 'ERR_ATTEST_UNSUPPORTED_ALGORITHM'],
      [
        'a PCR value left out',
        withQuote(0, { pcrValues: new Map([...q0.pcrValues].slice(1)) }),
        'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      ],
      [
        'a PCR 24 added',
        withQuote(0, { pcrValues: new Map([...q0.pcrValues, [24, Buffer.alloc(32)]]) }),
        'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      ],
      [
        'PCR values of another boot',
        withQuote(0, { pcrValues: other.quotes[0]!.pcrValues }),
        'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      ],
      ['quotes of another boot', { ...evidence, quotes: other.quotes }, 'ERR_ATTEST_QUOTE_SIGNATURE'],
      ['no AK certificate', { ...evidence, akCert: new Uint8Array(0) }, 'ERR_ATTEST_CERT_CHAIN'],
      ['the AK certificate of another boot', { ...evidence, akCert: other.akCert }, 'ERR_ATTEST_AK_MISMATCH'],
      [
        'the AK certificate of another boot, as the REST API sends it (no AK public area)',
        { ...withoutAkPub, akCert: other.akCert },
        'ERR_ATTEST_QUOTE_SIGNATURE',
      ],
      ['the AK public area of another boot', { ...evidence, akPub: other.akPub! }, 'ERR_ATTEST_AK_MISMATCH'],
      [
        'an AK certificate from another CA',
        { ...evidence, akCert: createPlatformCa(NOW).certificate },
        'ERR_ATTEST_CERT_CHAIN',
      ],
      [
        'a chain certificate that is not one',
        { ...evidence, certChain: [Buffer.from('not a certificate')] },
        'ERR_ATTEST_CERT_CHAIN',
      ],
      ['no TCG event log', { ...evidence, tcgEventLog: new Uint8Array(0) }, 'ERR_VERIFIER_UNKNOWN_IMAGE'],
      [
        'the TCG event log of another boot',
        { ...evidence, tcgEventLog: other.tcgEventLog! },
        'ERR_ATTEST_REPLAY_MISMATCH',
      ],
      [
        'no canonical event log',
        { ...evidence, canonicalEventLog: new Uint8Array(0) },
        'ERR_VERIFIER_MISSING_LAUNCH_EVENTS',
      ],
      [
        'the canonical event log of another launch',
        { ...evidence, canonicalEventLog: other.canonicalEventLog! },
        'ERR_ATTEST_REPLAY_MISMATCH',
      ],
      [
        'a launch event left out',
        { ...evidence, canonicalEventLog: renumbered(records.slice(1)) },
        'ERR_ATTEST_REPLAY_MISMATCH',
      ],
      [
        'the ImageRef event twice',
        { ...evidence, canonicalEventLog: renumbered([records[0]!, ...records]) },
        'ERR_ATTEST_CEL_REJECTED',
      ],
      [
        'an Arg event twice',
        { ...evidence, canonicalEventLog: renumbered([...records.slice(0, 5), records[4]!, ...records.slice(5)]) },
        'ERR_ATTEST_REPLAY_MISMATCH',
      ],
      [
        'two launch events swapped',
        { ...evidence, canonicalEventLog: renumbered([records[1]!, records[0]!, ...records.slice(2)]) },
        'ERR_ATTEST_REPLAY_MISMATCH',
      ],
      [
        'launch events named for RTMR 3',
        {
          ...evidence,
          canonicalEventLog: encodeCel(records.map((r) => ({ ...r, indexType: CEL_TYPE.CCMR, index: 4 }))),
        },
        'ERR_ATTEST_CEL_INDEX_TYPE',
      ],
      [
        'a launch record without its SHA-384 digest',
        {
          ...evidence,
          canonicalEventLog: encodeCel(
            records.map((r, i) => (i === 2 ? { ...r, digests: new Map([...r.digests].slice(0, 1)) } : r)),
          ),
        },
        'ERR_ATTEST_CEL_REJECTED',
      ],
    ];
    const tally = new Tally();
    for (const [name, tampered, code] of fields) tally.record(name, code, appraise(tampered));
    t.diagnostic(tally.summary());
    tally.assertClean();
  });
});
