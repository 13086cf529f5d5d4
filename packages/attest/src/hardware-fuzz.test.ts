// Property tests of the hardware parsers: SEV-SNP reports and key certificates, TDX quotes, PCK extensions,
// Intel collateral JSON and CRLs, fed hostile bytes, return or throw only their typed error.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AttestError } from './errors.ts';
import { splitPemCertificates, readSnpKeyCertificate } from './sev-snp/certs.ts';
import { SNP_REPORT_SIZE, parseSnpReport } from './sev-snp/report.ts';
import { verifySnpReport } from './sev-snp/verify.ts';
import { evaluateQeIdentity } from './tdx/collateral.ts';
import { readPckExtensions } from './tdx/pck.ts';
import { parseTdxQuote } from './tdx/quote.ts';
import { verifyTdxQuote } from './tdx/verify.ts';
import { vectorPath } from './test-vectors.ts';
import { parseCrl } from './x509/crl.ts';

const RUNS = { numRuns: 200 };
const snpDir = vectorPath('sev-snp', 'virtee-milan');
const tdxDir = vectorPath('tdx', 'spr-e4-v4');
const report = readFileSync(join(snpDir, 'report.bin'));
const vcek = readFileSync(join(snpDir, 'vcek_milan.der'));
const chain = splitPemCertificates(readFileSync(join(snpDir, 'cert_chain_milan.pem'), 'utf8'));
const quote = readFileSync(join(tdxDir, 'tdx_prod_quote_SPR_E4.dat'));
const pckCrl = readFileSync(join(tdxDir, 'pckcrl'));
const qeIdentity = readFileSync(join(tdxDir, 'sample_qeIdentity_response'), 'utf8');
const issuerChainPem = readFileSync(join(tdxDir, 'qeIdentity_issuer_chain.pem'), 'utf8');
const SNP_AT = new Date('2026-01-01T00:00:00Z');
const TDX_AT = new Date('2023-07-01T00:00:00Z');

function onlyTypedErrors(parse: (bytes: Uint8Array) => unknown): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      parse(bytes);
    } catch (error) {
      assert.ok(error instanceof AttestError, `untyped error: ${String(error)}`);
    }
  };
}

/** The seed with up to six bytes overwritten, kept whole or cut short, or arbitrary bytes. */
function around(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edits = fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  });
  const mutated = fc.tuple(edits, fc.option(fc.nat(seed.length), { nil: undefined })).map(([list, cut]) => {
    const copy = Buffer.from(seed);
    for (const [at, value] of list) copy[at] = value;
    return cut === undefined ? copy : copy.subarray(0, cut);
  });
  return fc.oneof({ arbitrary: mutated, weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 2048 }), weight: 1 });
}

describe('hardware parsers never crash on hostile input', () => {
  const pck = new X509Certificate(splitPemCertificates(parseTdxQuote(quote).pckChainPem)[0]!);
  const parsers: ReadonlyArray<[string, Uint8Array, (bytes: Uint8Array) => unknown]> = [
    ['SEV-SNP report', report, parseSnpReport],
    [
      'SEV-SNP report, through the whole appraisal',
      report,
      (b) => verifySnpReport({ report: b, leaf: vcek, certificates: chain }, { at: SNP_AT }),
    ],
    ['VCEK extensions', vcek, readSnpKeyCertificate],
    [
      'VCEK, through the whole appraisal',
      vcek,
      (b) => verifySnpReport({ report, leaf: b, certificates: chain }, { at: SNP_AT }),
    ],
    ['TDX quote', quote, parseTdxQuote],
    ['TDX quote, through the whole appraisal', quote, (b) => verifyTdxQuote(b, { at: TDX_AT })],
    ['PCK SGX extensions', pck.raw, (b) => readPckExtensions(new X509Certificate(b))],
    ['CRL', pckCrl, parseCrl],
    [
      'QE identity JSON',
      Buffer.from(qeIdentity),
      (b) =>
        evaluateQeIdentity({ json: Buffer.from(b).toString('utf8'), issuerChainPem }, parseTdxQuote(quote).qeReport, {
          at: TDX_AT,
        }),
    ],
  ];
  for (const [name, seed, parse] of parsers) {
    it(`${name}: only typed errors`, () => {
      const guarded = name === 'PCK SGX extensions' ? tolerateX509(parse) : parse;
      fc.assert(fc.property(around(seed), onlyTypedErrors(guarded)), RUNS);
    });
  }

  it('every single-byte change of a report is refused, and only a whole report is read', () => {
    fc.assert(
      fc.property(fc.nat(SNP_REPORT_SIZE - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Buffer.from(report);
        copy[at]! ^= xor;
        assert.throws(
          () => verifySnpReport({ report: copy, leaf: vcek, certificates: chain }, { at: SNP_AT }),
          AttestError,
        );
      }),
      RUNS,
    );
  });
});

/** node:crypto itself refuses bytes that are not a certificate before our parser sees them: that is not ours. */
function tolerateX509(parse: (bytes: Uint8Array) => unknown): (bytes: Uint8Array) => unknown {
  return (bytes) => {
    try {
      new X509Certificate(bytes);
    } catch {
      return undefined;
    }
    return parse(bytes);
  };
}
