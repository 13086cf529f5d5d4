// Offline appraisal of evidence files and the collateral cache, against the shared real vectors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { AttestError, createSnpAuthority, mintSnpReport, reportDataFor } from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import { importCollateral, loadCollateral } from './collateral-store.ts';
import { VerifierError } from './errors.ts';
import { verifyEvidenceOffline } from './offline.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const file = (...parts: string[]) => ({ name: parts.at(-1)!, bytes: readFileSync(join(vectors, ...parts)) });
const snp = (name: string) => file('sev-snp', 'virtee-milan', name);
const tdx = (name: string) => file('tdx', 'spr-e4-v4', name);
const tpm = (...name: string[]) => file('tpm', 'gce-cos-85-nonce9009', ...name);
const TDX_AT = new Date('2023-07-01T00:00:00Z');
const work = mkdtempSync(join(tmpdir(), 'sealroom-collateral-'));
after(() => rmSync(work, { recursive: true, force: true }));

function code(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof AttestError || error instanceof VerifierError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('offline appraisal of evidence files', () => {
  it('accepts the Milan report with its VCEK and ASK+ARK, and names the hardware in the claims', () => {
    const expected = JSON.parse(snp('expected.json').bytes.toString('utf8'));
    const result = verifyEvidenceOffline([snp('report.bin'), snp('vcek_milan.der'), snp('cert_chain_milan.pem')], {
      at: new Date('2026-01-01T00:00:00Z'),
      reportData: Buffer.from(expected.expect.report.report_data, 'hex'),
    });
    assert.equal(result.binding, 'exact');
    assert.equal(result.claims.hwmodel, 'AMD_SEV_SNP');
    assert.deepEqual(result.claims.attester_tcb, ['AMD']);
    assert.equal(result.claims.dbgstat, 'disabled-since-boot');
    const submod = (result.claims.submods as { sev_snp: Record<string, unknown> }).sev_snp;
    assert.equal(submod.measurement, expected.expect.report.measurement);
    assert.deepEqual(submod.reported_tcb, { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  });

  it('refuses the Milan report for a nonce it was not made for, and without its VCEK', () => {
    const files = [snp('report.bin'), snp('vcek_milan.der'), snp('cert_chain_milan.pem')];
    const at = new Date('2026-01-01T00:00:00Z');
    assert.equal(
      code(() => verifyEvidenceOffline(files, { at, nonce: Buffer.of(1, 2) })),
      'ERR_ATTEST_REPORT_DATA',
    );
    assert.equal(
      code(() => verifyEvidenceOffline([files[0]!, files[2]!], { at })),
      'ERR_VERIFIER_EVIDENCE_INCOMPLETE',
    );
  });

  it('accepts the TDX quote without collateral (TCB status not evaluated) and refuses it with its collateral', () => {
    const result = verifyEvidenceOffline([tdx('tdx_prod_quote_SPR_E4.dat')], { at: TDX_AT });
    assert.equal(result.claims.hwmodel, 'INTEL_TDX');
    const submod = (result.claims.submods as { tdx: Record<string, unknown> }).tdx;
    assert.equal(submod.attester_tcb_status, 'NotEvaluated');
    assert.equal(submod.fmspc, '50806f000000');
    const withCollateral = [
      tdx('tdx_prod_quote_SPR_E4.dat'),
      tdx('sample_tcbInfo_response'),
      tdx('sample_qeIdentity_response'),
      tdx('tcbInfo_issuer_chain.pem'),
      tdx('pckcrl'),
      tdx('rootcrl.der'),
    ];
    assert.equal(
      code(() => verifyEvidenceOffline(withCollateral, { at: TDX_AT })),
      'ERR_ATTEST_TDX_TCB_UNMATCHED',
    );
  });

  it('refuses TDX appraisal when collateral is expected but its TCB info is missing', () => {
    const files = [
      tdx('tdx_prod_quote_SPR_E4.dat'),
      tdx('sample_qeIdentity_response'),
      tdx('tcbInfo_issuer_chain.pem'),
    ];
    assert.equal(
      code(() => verifyEvidenceOffline(files, { at: TDX_AT })),
      'ERR_ATTEST_TDX_COLLATERAL',
    );
  });

  it('accepts the GCE TPM attestation with its nonce, root and intermediate, and refuses it without the nonce', () => {
    const files = [tpm('attestation.json'), tpm('ca', 'tpm_ek_intermediate_2.crt')];
    const root = tpm('ca', 'tpm_ek_root_1.cer').bytes;
    const at = new Date('2023-01-01T00:00:00Z');
    const result = verifyEvidenceOffline(files, { at, nonce: Buffer.from('9009', 'hex'), trustedRoots: [root] });
    assert.equal(result.evidence, 'tpm');
    assert.equal((result.claims.submods as { gce: { instance_name: string } }).gce.instance_name, 'cos-test');
    assert.equal(
      code(() => verifyEvidenceOffline(files, { at, trustedRoots: [root] })),
      'ERR_VERIFIER_EVIDENCE_INCOMPLETE',
    );
    assert.equal(
      code(() => verifyEvidenceOffline(files, { at, nonce: Buffer.of(1), trustedRoots: [root] })),
      'ERR_ATTEST_NONCE_MISMATCH',
    );
  });

  it('binds a hardware report to the vTPM attestation it accompanies (the AK in report_data): GCP_AMD_SEV', () => {
    const at = new Date('2023-01-01T00:00:00Z');
    const nonce = Buffer.from('9009', 'hex');
    const tpmFiles = [tpm('attestation.json'), tpm('ca', 'tpm_ek_intermediate_2.crt')];
    const akCert = Buffer.from(JSON.parse(tpmFiles[0]!.bytes.toString('utf8')).akCert, 'base64');
    const akSpki = new X509Certificate(akCert).publicKey.export({ type: 'spki', format: 'der' });
    const authority = createSnpAuthority('Milan', at);
    const trustedRoots = [tpm('ca', 'tpm_ek_root_1.cer').bytes, authority.ark];
    const withReport = (reportData: Buffer) => [
      ...tpmFiles,
      { name: 'report.bin', bytes: mintSnpReport(authority, { reportData }) },
      { name: 'vcek.der', bytes: authority.vcek },
      { name: 'ask.der', bytes: authority.ask },
    ];
    const bound = withReport(reportDataFor({ nonce, boundKey: akSpki }));
    const result = verifyEvidenceOffline(bound, { at, nonce, trustedRoots });
    assert.equal(result.evidence, 'vtpm-sev-snp');
    assert.equal(result.claims.hwmodel, 'GCP_AMD_SEV');
    const submods = result.claims.submods as Record<string, unknown>;
    assert.ok(submods.gce !== undefined && submods.sev_snp !== undefined);
    const unbound = withReport(reportDataFor({ nonce }));
    assert.equal(
      code(() => verifyEvidenceOffline(unbound, { at, nonce, trustedRoots })),
      'ERR_ATTEST_REPORT_DATA',
    );
  });

  it('refuses files that are not evidence, and two reports at once', () => {
    assert.equal(
      code(() => verifyEvidenceOffline([{ name: 'x', bytes: Buffer.from('hello') }], { at: TDX_AT })),
      'ERR_VERIFIER_EVIDENCE_FILE',
    );
    const two = [tdx('tdx_prod_quote_SPR_E4.dat'), snp('report.bin')];
    assert.equal(
      code(() => verifyEvidenceOffline(two, { at: TDX_AT })),
      'ERR_VERIFIER_EVIDENCE_INCOMPLETE',
    );
  });
});

describe('the collateral cache', () => {
  it('stores collateral by digest, once, and serves it to appraisal without any network', () => {
    const dir = join(work, 'cache-1');
    const imported = importCollateral(dir, [snp('vcek_milan.der'), snp('cert_chain_milan.pem'), tdx('pckcrl')]);
    assert.deepEqual(
      imported.map((i) => [i.kind, i.added]),
      [
        ['certificates', true],
        ['certificates', true],
        ['crl', true],
      ],
    );
    assert.equal(importCollateral(dir, [snp('vcek_milan.der')])[0]!.added, false);
    assert.deepEqual(readdirSync(join(dir, 'sha256')).sort(), imported.map((i) => i.sha256).sort());
    const collateral = loadCollateral(dir);
    assert.equal(collateral.certificates.length, 3);
    const result = verifyEvidenceOffline([snp('report.bin')], { at: new Date('2026-01-01T00:00:00Z'), collateral });
    assert.equal(result.claims.hwmodel, 'AMD_SEV_SNP');
  });

  it('picks the VCEK of the report’s chip from the cache, not another chip’s', () => {
    const dir = join(work, 'cache-2');
    const authority = createSnpAuthority('Milan', new Date('2026-01-01T00:00:00Z'));
    importCollateral(dir, [{ name: 'other.der', bytes: authority.vcek }, snp('cert_chain_milan.pem')]);
    const collateral = loadCollateral(dir);
    const at = new Date('2026-01-01T00:00:00Z');
    assert.equal(
      code(() => verifyEvidenceOffline([snp('report.bin')], { at, collateral })),
      'ERR_VERIFIER_EVIDENCE_INCOMPLETE',
    );
    const minted = mintSnpReport(authority);
    const own = verifyEvidenceOffline(
      [
        { name: 'r', bytes: minted },
        { name: 'ask', bytes: authority.ask },
      ],
      {
        at,
        collateral,
        trustedRoots: [authority.ark],
      },
    );
    assert.equal(own.evidence, 'sev-snp');
  });

  it('refuses to import evidence, and refuses a cache whose blob was altered', () => {
    const dir = join(work, 'cache-3');
    assert.throws(
      () => importCollateral(dir, [snp('cert_chain_milan.pem'), snp('report.bin')]),
      (e) => e instanceof VerifierError && e.code === 'ERR_VERIFIER_COLLATERAL_FILE',
    );
    assert.throws(() => readdirSync(join(dir, 'sha256')), /ENOENT/, 'nothing half-imported');
    const [entry] = importCollateral(dir, [tdx('rootcrl.der')]);
    writeFileSync(join(dir, 'sha256', entry!.sha256), Buffer.from('tampered'));
    assert.throws(
      () => loadCollateral(dir),
      (e) => e instanceof VerifierError && e.code === 'ERR_VERIFIER_COLLATERAL_FILE',
    );
  });

  it('refuses stale Intel collateral, and still wants TCB info where stale collateral is allowed', () => {
    const dir = join(work, 'cache-4');
    importCollateral(dir, [tdx('sample_qeIdentity_response'), tdx('tcbInfo_issuer_chain.pem')]);
    const collateral = loadCollateral(dir);
    const late = new Date('2023-07-10T00:00:00Z');
    const quote = [tdx('tdx_prod_quote_SPR_E4.dat')];
    assert.equal(
      code(() => verifyEvidenceOffline(quote, { at: late, collateral })),
      'ERR_ATTEST_TDX_COLLATERAL_EXPIRED',
    );
    // TCB info is still missing, so even stale-tolerant appraisal refuses: collateral was expected.
    assert.equal(
      code(() => verifyEvidenceOffline(quote, { at: late, collateral, allowStaleCollateral: true })),
      'ERR_ATTEST_TDX_COLLATERAL',
    );
  });
});
