// Benchmark: SEV-SNP and TDX appraisals per second, in process, on the shared real vectors, next to bare ECDSA
// P-384 verifications (each SEV-SNP report needs one, plus its chain). The verifier over HTTP is bench/verifier.ts.
// Run: npm exec -- node bench/verifier-hardware.ts [seconds-per-phase]
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appraiseSnpReport,
  appraiseTdxQuote,
  splitPemCertificates,
  verifySnpReport,
  verifyTdxQuote,
} from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';

const SECONDS = Number(process.argv[2] ?? 3);

function report(name: string, done: number, started: number): number {
  const seconds = (performance.now() - started) / 1000;
  const rate = done / seconds;
  console.log(`${name.padEnd(68)} ${rate.toFixed(0).padStart(7)} /s  (${done} in ${seconds.toFixed(1)} s)`);
  return rate;
}

async function phase(name: string, run: () => void): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    run();
    done++;
  }
  return report(name, done, started);
}

const pct = (rate: number, of: number): string => `${((rate / of) * 100).toFixed(0)} %`;

// 4. Hardware reports, in process, on the shared real vectors (read at run time): the limit is a bare ECDSA
//    P-384 verification of a report-sized input; a SEV-SNP appraisal is one of those plus the VCEK → ASK → ARK
//    chain (RSA-PSS) and the policy; a TDX appraisal is two P-256 verifications plus the PCK chain.
const vectors = join(resolveSharedDir(), 'vectors');
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const snpInput = Buffer.alloc(0x2a0, 5);
const p384Signature = sign('sha384', snpInput, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' });
const p384Rate = await phase('ECDSA P-384 verifications, one thread', () => {
  verify('sha384', snpInput, { key: p384.publicKey, dsaEncoding: 'ieee-p1363' }, p384Signature);
});
const snpDir = join(vectors, 'sev-snp', 'virtee-milan');
const snpEvidence = {
  report: readFileSync(join(snpDir, 'report.bin')),
  leaf: readFileSync(join(snpDir, 'vcek_milan.der')),
  certificates: splitPemCertificates(readFileSync(join(snpDir, 'cert_chain_milan.pem'), 'utf8')),
};
const snpAt = new Date('2026-01-01T00:00:00Z');
// JIT and chain-cache warm-up, as for the in-process phase above: the figure is the steady state.
for (let i = 0; i < 200; i++) appraiseSnpReport(verifySnpReport(snpEvidence, { at: snpAt }), {});
const snpRate = await phase('SEV-SNP appraisals (report, chain, policy), one thread', () => {
  appraiseSnpReport(verifySnpReport(snpEvidence, { at: snpAt }), {});
});
const tdxQuote = readFileSync(join(vectors, 'tdx', 'spr-e4-v4', 'tdx_prod_quote_SPR_E4.dat'));
const tdxAt = new Date('2023-07-01T00:00:00Z');
for (let i = 0; i < 200; i++) appraiseTdxQuote(verifyTdxQuote(tdxQuote, { at: tdxAt }), {});
const tdxRate = await phase('TDX appraisals (quote, QE report, PCK chain, policy), one thread', () => {
  appraiseTdxQuote(verifyTdxQuote(tdxQuote, { at: tdxAt }), {});
});
console.log(`\nSEV-SNP: ${pct(snpRate, p384Rate)} of bare P-384 verifications; TDX: ${pct(tdxRate, p384Rate)}.`);
