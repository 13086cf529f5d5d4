// TDX appraisal against the real Sapphire Rapids quote and Intel collateral, with upstream's one-byte negatives.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AttestError, type AttestErrorCode } from '../errors.ts';
import { CEL_TYPE, celRecordFor, decodeCel, encodeCel, replayCel } from '../eventlog/cel.ts';
import { COS_CCMR, COS_TYPE, encodeCosContent } from '../eventlog/cos.ts';
import { vectorPath } from '../test-vectors.ts';
import { TPM_ALG } from '../tpm/constants.ts';
import { evaluateTdxTcb, rawJsonMember } from './collateral.ts';
import { TDX_MAX_QUOTE_SIZE, parseTdxQuote } from './quote.ts';
import { type TdxCollateral, type VerifiedTdxQuote, appraiseTdxQuote, verifyTdxQuote } from './verify.ts';

const dir = vectorPath('tdx', 'spr-e4-v4');
const read = (name: string): Buffer => readFileSync(join(dir, name));
const quote = read('tdx_prod_quote_SPR_E4.dat');
// biome-ignore lint/suspicious/noExplicitAny: the vector's expected.json, read as data
const expected = JSON.parse(read('expected.json').toString('utf8')) as any;
const AT = new Date('2023-07-01T00:00:00Z');
const collateral: TdxCollateral = {
  tcbInfo: {
    json: read('sample_tcbInfo_response').toString('utf8'),
    issuerChainPem: read('tcbInfo_issuer_chain.pem').toString('utf8'),
  },
  qeIdentity: {
    json: read('sample_qeIdentity_response').toString('utf8'),
    issuerChainPem: read('qeIdentity_issuer_chain.pem').toString('utf8'),
  },
  crls: [read('pckcrl'), read('rootcrl.der')],
};

const qeOnlyCollateral: TdxCollateral = { qeIdentity: collateral.qeIdentity!, crls: collateral.crls! };

function refusal(code: AttestErrorCode, run: () => unknown): void {
  assert.throws(run, (error) => error instanceof AttestError && error.code === code);
}

function withBody(
  verified: VerifiedTdxQuote,
  change: (body: VerifiedTdxQuote['quote']['body']) => object,
): VerifiedTdxQuote {
  return {
    ...verified,
    quote: { ...verified.quote, body: { ...verified.quote.body, ...change(verified.quote.body) } },
  };
}

describe('the real TDX v4 quote (Sapphire Rapids E4)', () => {
  it('is accepted without collateral at 2023-07-01, with every field the vector lists', () => {
    const verified = verifyTdxQuote(quote, { at: AT });
    appraiseTdxQuote(verified, {
      reportData: { exact: Buffer.from(expected.expect.reportData, 'hex') },
      measurements: [
        {
          mrTd: Buffer.from(expected.expect.mrtd, 'hex'),
          rtmr0: Buffer.from(expected.expect.rtmr0, 'hex'),
          rtmr1: Buffer.from(expected.expect.rtmr1, 'hex'),
          rtmr2: Buffer.from(expected.expect.rtmr2, 'hex'),
        },
      ],
    });
    const { header, body } = verified.quote;
    assert.equal(header.version, 4);
    assert.equal(header.qeVendorId.toString('hex'), expected.expect.header.qe_vendor_id);
    assert.equal(body.kind, 'TDX10');
    assert.equal(body.tdAttributes.toString('hex'), '0000004000000000');
    assert.equal(body.rtmrs[3].toString('hex'), expected.expect.rtmr3);
    assert.equal(verified.quote.qeAuthData.toString('hex'), expected.expect.qeAuthData);
    assert.equal(verified.quote.attestationKey.toString('hex'), expected.expect.attestationKey);
    assert.equal(verified.quote.trailingBytes, 39);
    assert.equal(verified.pck.fmspc.toString('hex'), '50806f000000');
    assert.deepEqual(verified.pck.sgxTcb, expected.expect.withCollateral.pckTcb.sgxComponents);
    assert.equal(verified.pck.pceSvn, 11);
  });

  it('is rejected at 2053, when the PCK has expired', () => {
    refusal('ERR_ATTEST_TDX_CHAIN', () => verifyTdxQuote(quote, { at: new Date('2053-07-01T00:00:00Z') }));
  });

  it('is rejected with the collateral: no TDX TCB level matches the PCK SGX TCB', () => {
    refusal('ERR_ATTEST_TDX_TCB_UNMATCHED', () => verifyTdxQuote(quote, { at: AT, collateral }));
  });

  it('checks the QE identity (UpToDate) and both CRLs (nothing revoked)', () => {
    const verified = verifyTdxQuote(quote, {
      at: AT,
      collateral: qeOnlyCollateral,
    });
    assert.equal(verified.qe?.status, 'UpToDate');
    assert.equal(verified.qe?.qeIdentity.nextUpdate.toISOString(), '2023-07-08T07:24:59.000Z');
    assert.deepEqual(
      verified.crls.map((c) => c.issuer),
      ['Intel SGX PCK Platform CA', 'Intel SGX Root CA'],
    );
  });

  it('refuses collateral past nextUpdate, and reports it stale where the deployment allows', () => {
    const late = new Date('2023-07-20T00:00:00Z');
    refusal('ERR_ATTEST_TDX_COLLATERAL_EXPIRED', () => verifyTdxQuote(quote, { at: late, collateral }));
    const qeOnly = qeOnlyCollateral;
    const verified = verifyTdxQuote(quote, { at: late, collateral: qeOnly, allowStaleCollateral: true });
    assert.equal(verified.qe?.qeIdentity.stale, true);
  });

  it('refuses to rate a TDX module of major version 1 or later by the wrong bytes', () => {
    const verified = verifyTdxQuote(quote, { at: AT });
    const teeTcbSvn = Buffer.from(verified.quote.body.teeTcbSvn);
    teeTcbSvn[1] = 1;
    assert.throws(
      () => evaluateTdxTcb(collateral.tcbInfo!, verified.pck, { ...verified.quote.body, teeTcbSvn }, { at: AT }),
      (e) =>
        e instanceof AttestError && e.code === 'ERR_ATTEST_TDX_TCB_UNMATCHED' && /module identities/.test(e.message),
    );
  });

  it('refuses a TCB info whose signed bytes were changed, even by one digit', () => {
    const json = collateral.tcbInfo!.json.replace('"tcbEvaluationDataNumber":15', '"tcbEvaluationDataNumber":16');
    assert.notEqual(json, collateral.tcbInfo!.json);
    refusal('ERR_ATTEST_TDX_COLLATERAL', () =>
      verifyTdxQuote(quote, { at: AT, collateral: { tcbInfo: { ...collateral.tcbInfo!, json } } }),
    );
  });

  it('refuses collateral signed under a chain that is not Intel’s', () => {
    const tcbInfo = { ...collateral.tcbInfo!, issuerChainPem: read('pckcrl_issuer_chain.pem').toString('utf8') };
    refusal('ERR_ATTEST_TDX_CHAIN', () => verifyTdxQuote(quote, { at: AT, collateral: { tcbInfo } }));
  });

  const negatives: Array<[number, number, AttestErrorCode]> = [
    [0x00, 3, 'ERR_ATTEST_TDX_VERSION'],
    [0x278, 0x10, 'ERR_ATTEST_TDX_MALFORMED'],
    [0x1343, 0x32, 'ERR_ATTEST_TDX_CHAIN'],
    [0x1329, 0x32, 'ERR_ATTEST_TDX_CHAIN'],
    [0xf5f, 0x32, 'ERR_ATTEST_TDX_CHAIN'],
    [0xb77, 0x32, 'ERR_ATTEST_TDX_CHAIN'],
    [0x1e, 0x32, 'ERR_ATTEST_TDX_SIGNATURE'],
    [0x3c, 0x32, 'ERR_ATTEST_TDX_SIGNATURE'],
  ];
  for (const [offset, value, code] of negatives) {
    it(`refuses byte 0x${offset.toString(16)} set to 0x${value.toString(16)} with ${code}`, () => {
      const mutated = Buffer.from(quote);
      mutated[offset] = value;
      refusal(code, () => verifyTdxQuote(mutated, { at: AT }));
    });
  }

  it('refuses a QE report that does not bind the attestation key, and one the PCK did not sign', () => {
    const sigStart = 636;
    const qeReportData = sigStart + 134 + 320;
    const unbound = Buffer.from(quote);
    unbound[sigStart + 64] = unbound[sigStart + 64]! ^ 1; // the attestation key
    refusal('ERR_ATTEST_TDX_QE_BINDING', () => verifyTdxQuote(unbound, { at: AT }));
    const unsigned = Buffer.from(quote);
    unsigned[qeReportData] = unsigned[qeReportData]! ^ 1;
    refusal('ERR_ATTEST_TDX_QE_SIGNATURE', () => verifyTdxQuote(unsigned, { at: AT }));
  });

  it('refuses truncated, oversized and foreign quotes before reading them', () => {
    refusal('ERR_ATTEST_TDX_MALFORMED', () => parseTdxQuote(quote.subarray(0, 40)));
    refusal('ERR_ATTEST_TDX_MALFORMED', () => parseTdxQuote(quote.subarray(0, 700)));
    refusal('ERR_ATTEST_TDX_MALFORMED', () => parseTdxQuote(Buffer.alloc(TDX_MAX_QUOTE_SIZE + 1)));
    const sgx = Buffer.from(quote);
    sgx.writeUInt32LE(0, 4); // TEE type SGX
    refusal('ERR_ATTEST_TDX_VERSION', () => parseTdxQuote(sgx));
  });

  it('reads a v5 quote with a TDX 1.5 body, and refuses an unknown body type', () => {
    const body15 = Buffer.concat([quote.subarray(48, 632), Buffer.alloc(16, 2), Buffer.alloc(48, 3)]);
    const descriptor = Buffer.alloc(6);
    descriptor.writeUInt16LE(3, 0);
    descriptor.writeUInt32LE(648, 2);
    const v5 = Buffer.concat([quote.subarray(0, 48), descriptor, body15, quote.subarray(632)]);
    v5.writeUInt16LE(5, 0);
    const parsed = parseTdxQuote(v5);
    assert.equal(parsed.body.kind, 'TDX15');
    assert.equal(parsed.body.mrTd.toString('hex'), expected.expect.mrtd);
    assert.equal(parsed.body.mrServiceTd?.toString('hex'), '03'.repeat(48));
    assert.equal(parsed.signed.length, 48 + 6 + 648);
    // Re-framed bytes are no longer what the attestation key signed.
    refusal('ERR_ATTEST_TDX_SIGNATURE', () => verifyTdxQuote(v5, { at: AT }));
    v5.writeUInt16LE(4, 48);
    refusal('ERR_ATTEST_TDX_VERSION', () => parseTdxQuote(v5));
  });
});

describe('TDX policy', () => {
  const verified = verifyTdxQuote(quote, { at: AT });

  it('refuses a debuggable TD unless the deployment allows debug', () => {
    const debug = withBody(verified, (b) => ({
      tdAttributes: Buffer.concat([Buffer.of(b.tdAttributes[0]! | 1), b.tdAttributes.subarray(1)]),
    }));
    refusal('ERR_ATTEST_TDX_DEBUG', () => appraiseTdxQuote(debug, {}));
    appraiseTdxQuote(debug, { allowDebug: true });
  });

  it('refuses MRTD or an RTMR outside the image database, and report_data not bound to the challenge', () => {
    const mrTd = Buffer.from(expected.expect.mrtd, 'hex');
    refusal('ERR_ATTEST_MEASUREMENT', () => appraiseTdxQuote(verified, { measurements: [{ mrTd: Buffer.alloc(48) }] }));
    refusal('ERR_ATTEST_MEASUREMENT', () =>
      appraiseTdxQuote(verified, { measurements: [{ mrTd, rtmr1: Buffer.alloc(48) }] }),
    );
    appraiseTdxQuote(verified, { measurements: [{ mrTd }] });
    refusal('ERR_ATTEST_REPORT_DATA', () =>
      appraiseTdxQuote(verified, { reportData: { challenge: { nonce: Buffer.of(1) } } }),
    );
  });

  it('accepts only the TCB statuses the deployment lists, never Revoked, and requires collateral where told', () => {
    const tcb = {
      status: 'OutOfDate',
      tcbDate: AT,
      tcbEvaluationDataNumber: 15,
      tcbInfo: { issueDate: AT, nextUpdate: AT, stale: false },
    } as const;
    const outOfDate: VerifiedTdxQuote = { ...verified, tcb };
    refusal('ERR_ATTEST_TDX_TCB_STATUS', () => appraiseTdxQuote(outOfDate, {}));
    appraiseTdxQuote(outOfDate, { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] });
    const revoked: VerifiedTdxQuote = { ...verified, tcb: { ...tcb, status: 'Revoked' } };
    refusal('ERR_ATTEST_TDX_TCB_STATUS', () => appraiseTdxQuote(revoked, { acceptedTcbStatuses: ['Revoked'] }));
    refusal('ERR_ATTEST_TDX_COLLATERAL', () => appraiseTdxQuote(verified, { requireCollateral: true }));
  });

  it('replays the canonical event log into RTMR 3 and reads the launch from it', () => {
    const records = [
      [COS_TYPE.IMAGE_REF, 'registry/p/r/img@sha256:' + 'a'.repeat(64)],
      [COS_TYPE.IMAGE_DIGEST, 'sha256:' + 'a'.repeat(64)],
      [COS_TYPE.RESTART_POLICY, 'Never'],
      [COS_TYPE.IMAGE_ID, 'sha256:' + 'e'.repeat(64)],
      [COS_TYPE.LAUNCH_SEPARATOR, ''],
    ].map(([type, value], i) =>
      celRecordFor(BigInt(i), CEL_TYPE.CCMR, COS_CCMR, encodeCosContent(type as number, value as string), [
        TPM_ALG.SHA384,
      ]),
    );
    const log = encodeCel(records);
    const rtmr3 = replayCel(decodeCel(log), TPM_ALG.SHA384, CEL_TYPE.CCMR, COS_CCMR);
    const bound = withBody(verified, (b) => ({ rtmrs: [b.rtmrs[0], b.rtmrs[1], b.rtmrs[2], rtmr3] }));
    const state = appraiseTdxQuote(bound, { canonicalEventLog: log });
    assert.equal(state?.container.imageDigest, 'sha256:' + 'a'.repeat(64));
    refusal('ERR_ATTEST_REPLAY_MISMATCH', () => appraiseTdxQuote(verified, { canonicalEventLog: log }));
  });
});

describe('raw JSON members', () => {
  it('returns the exact bytes of a member, strings with braces and escapes included', () => {
    const text = '{"a":"}{\\"","tcbInfo":{"x":"}","y":[1,{"z":2}]} ,"signature":"00"}';
    assert.equal(rawJsonMember(text, 'tcbInfo'), '{"x":"}","y":[1,{"z":2}]}');
    assert.equal(rawJsonMember(text, 'signature'), '"00"');
    refusal('ERR_ATTEST_TDX_COLLATERAL', () => rawJsonMember(text, 'missing'));
  });
});
