// Tamper suite, real hardware evidence: every byte of the Milan SEV-SNP report and its VCEK, and of the Sapphire
// Rapids TDX quote, flipped in turn; each refused by the check that owns the byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  appraiseSnpReport,
  appraiseTdxQuote,
  splitPemCertificates,
  verifySnpReport,
  verifyTdxQuote,
} from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import { snpClaims, tdxClaims } from './hardware-claims.ts';
import { Layout, Tally, UNMEASURED, attempt, flipEveryByte } from './tamper-kit.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const snpDir = join(vectors, 'sev-snp', 'virtee-milan');
const report = readFileSync(join(snpDir, 'report.bin'));
const vcek = readFileSync(join(snpDir, 'vcek_milan.der'));
const chain = splitPemCertificates(readFileSync(join(snpDir, 'cert_chain_milan.pem'), 'utf8'));
const quote = readFileSync(join(vectors, 'tdx', 'spr-e4-v4', 'tdx_prod_quote_SPR_E4.dat'));
const SNP_AT = new Date('2026-01-01T00:00:00Z');
const TDX_AT = new Date('2023-07-01T00:00:00Z');

function appraiseSnp(r: Uint8Array, leaf: Uint8Array) {
  return attempt(() => {
    const verified = verifySnpReport({ report: r, leaf, certificates: chain }, { at: SNP_AT });
    appraiseSnpReport(verified, {});
    return snpClaims(verified);
  });
}

function appraiseTdx(q: Uint8Array) {
  return attempt(() => {
    const verified = verifyTdxQuote(q, { at: TDX_AT });
    appraiseTdxQuote(verified, {});
    return tdxClaims(verified);
  });
}

describe('tamper suite: real SEV-SNP and TDX evidence (shared vectors), every byte flipped', () => {
  it('the SEV-SNP report: version, signed fields, signer_info, signature algorithm, R, S and the zero tail', (t) => {
    const signer = (_: Buffer, offset: number): string =>
      // The key field is bits 2–4 of the first byte: complemented it names key 7 (none).
      offset === 0x48 ? 'ERR_ATTEST_SNP_SIGNER' : 'ERR_ATTEST_SNP_SIGNATURE';
    const layout = new Layout()
      .field('version', 4, 'ERR_ATTEST_SNP_VERSION')
      .field('guest_svn..vmpl', 0x30, 'ERR_ATTEST_SNP_SIGNATURE')
      .field('signature_algo', 4, 'ERR_ATTEST_SNP_MALFORMED')
      .field('current_tcb, platform_info', 0x10, 'ERR_ATTEST_SNP_SIGNATURE')
      .field('signer_info', 4, signer)
      .field('report_data..launch_tcb and reserved', 0x2a0 - 0x4c, 'ERR_ATTEST_SNP_SIGNATURE')
      .field('R (P-384 part)', 48, 'ERR_ATTEST_SNP_SIGNATURE')
      .field('R (must be zero)', 24, 'ERR_ATTEST_SNP_MALFORMED')
      .field('S (P-384 part)', 48, 'ERR_ATTEST_SNP_SIGNATURE')
      .field('S (must be zero)', 24, 'ERR_ATTEST_SNP_MALFORMED')
      .field('reserved tail', 0x4a0 - 0x330, 'ERR_ATTEST_SNP_MALFORMED');
    const tally = new Tally();
    assert.ok('accepted' in appraiseSnp(report, vcek));
    flipEveryByte(tally, 'SEV-SNP report', report, layout.regions, (m) => appraiseSnp(m, vcek));
    t.diagnostic(tally.summary());
    tally.assertClean();
    assert.equal(tally.cases, 1184);
  });

  it('the VCEK: every byte refused by the chain, before anything in it is read', (t) => {
    const tally = new Tally();
    const layout = new Layout().field('VCEK', vcek.length, 'ERR_ATTEST_SNP_CHAIN');
    flipEveryByte(tally, 'VCEK', vcek, layout.regions, (m) => appraiseSnp(report, m));
    t.diagnostic(tally.summary());
    tally.assertClean();
  });

  it('the TDX quote: header, body, signature data, QE report, authentication data and PCK chain', (t) => {
    const sigStart = 636;
    const cert = sigStart + 134;
    const authLength = quote.readUInt16LE(cert + 448);
    const chainStart = cert + 450 + authLength + 6;
    const pemLength = quote.readUInt32LE(cert + 450 + authLength + 2);
    const pem = quote.subarray(chainStart, chainStart + pemLength).toString('latin1');
    // Inside a PEM block a flipped byte is not base64: the block is dropped and the chain breaks. The
    // newlines between blocks and after the last one are not part of any certificate.
    const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(
      (m) => [chainStart + m.index!, chainStart + m.index! + m[0].length] as const,
    );
    const inPem = (_: Buffer, offset: number): string =>
      blocks.some(([a, b]) => offset >= a && offset < b) ? 'ERR_ATTEST_TDX_CHAIN' : UNMEASURED;
    const layout = new Layout()
      .field('version, key type, TEE type', 8, 'ERR_ATTEST_TDX_VERSION')
      .field('header and TD body', 632 - 8, 'ERR_ATTEST_TDX_SIGNATURE')
      .field('signature data length', 4, 'ERR_ATTEST_TDX_MALFORMED')
      .field('quote signature', 64, 'ERR_ATTEST_TDX_SIGNATURE')
      .field('attestation key', 64, 'ERR_ATTEST_TDX_QE_BINDING')
      .field('certification data type and size', 6, 'ERR_ATTEST_TDX_MALFORMED')
      .field('QE report', 384, 'ERR_ATTEST_TDX_QE_SIGNATURE')
      .field('QE report signature', 64, 'ERR_ATTEST_TDX_QE_SIGNATURE')
      .field('authentication data length', 2, 'ERR_ATTEST_TDX_MALFORMED')
      .field('authentication data', authLength, 'ERR_ATTEST_TDX_QE_BINDING')
      .field('PCK chain type and size', 6, 'ERR_ATTEST_TDX_MALFORMED')
      .field('PCK chain (PEM)', pemLength, inPem)
      .field('trailing bytes (unsigned)', quote.length - chainStart - pemLength, UNMEASURED);
    const baseline = appraiseTdx(quote);
    assert.ok('accepted' in baseline);
    const tally = new Tally();
    flipEveryByte(tally, 'TDX quote', quote, layout.regions, appraiseTdx, baseline.accepted);
    t.diagnostic(tally.summary());
    tally.assertClean();
    assert.equal(tally.cases, quote.length);
  });
});
