// SEV-SNP appraisal against the real Milan vectors, and every refusal against reports a fake AMD hierarchy signs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AttestError, type AttestErrorCode } from '../errors.ts';
import { reportDataFor } from '../report-data.ts';
import { vectorPath } from '../test-vectors.ts';
import { splitPemCertificates } from './certs.ts';
import { SNP_REPORT_SIZE, parseSnpReport } from './report.ts';
import { createSnpAuthority, issueSnpCrl, mintSnpReport } from './simulator.ts';
import { type SnpAppraisalPolicy, type SnpEvidence, appraiseSnpReport, verifySnpReport } from './verify.ts';

const AT = new Date('2026-01-01T00:00:00Z');

function loadVector(dir: string, report: string, leaf: string, chain: string) {
  const base = vectorPath('sev-snp', dir);
  return {
    evidence: {
      report: readFileSync(join(base, report)),
      leaf: readFileSync(join(base, leaf)),
      certificates: splitPemCertificates(readFileSync(join(base, chain), 'utf8')),
    } satisfies SnpEvidence,
    // biome-ignore lint/suspicious/noExplicitAny: the vector's expected.json, read as data
    expected: JSON.parse(readFileSync(join(base, 'expected.json'), 'utf8')) as any,
  };
}

const virtee = loadVector('virtee-milan', 'report.bin', 'vcek_milan.der', 'cert_chain_milan.pem');
const trustee = loadVector('trustee-milan', 'test-report.bin', 'test-vcek.der', 'milan_ask_ark_asvk.pem');

function refusal(code: AttestErrorCode, run: () => unknown): void {
  assert.throws(run, (error) => error instanceof AttestError && error.code === code);
}

function mutate(bytes: Uint8Array, offset: number, change: (b: number) => number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = change(copy[offset]!) & 0xff;
  return copy;
}

function appraise(evidence: SnpEvidence, policy: SnpAppraisalPolicy = {}, at = AT, trustedRoots: Uint8Array[] = []) {
  const verified = verifySnpReport(evidence, { at, trustedRoots });
  appraiseSnpReport(verified, policy);
  return verified;
}

describe('SEV-SNP reports from real Milan machines', () => {
  it('accepts the virtee Milan report at a time inside the VCEK validity', () => {
    const verified = appraise(virtee.evidence, {
      reportData: { exact: Buffer.from(virtee.expected.expect.report.report_data, 'hex') },
      measurements: [Buffer.from(virtee.expected.expect.report.measurement, 'hex')],
    });
    assert.equal(verified.product, 'Milan');
    assert.equal(verified.productName, 'Milan-B0');
    assert.equal(verified.signingKey, 'VCEK');
    assert.equal(verified.report.version, 2);
    assert.equal(verified.report.policy.raw, 0x30000n);
    assert.deepEqual(
      { bl: verified.reportedTcb.bootloader, tee: verified.reportedTcb.tee, snp: verified.reportedTcb.snp },
      { bl: 3, tee: 0, snp: 8 },
    );
    assert.equal(verified.reportedTcb.microcode, 115);
    assert.equal(verified.chain.arkSha256, trustee.expected.expect.chain.root.sha256_der);
  });

  it('accepts the trustee report and checks the VCEK against reported_tcb, not current_tcb', () => {
    const verified = appraise(trustee.evidence);
    assert.equal(verified.report.guestSvn, 4);
    assert.equal(verified.currentTcb.microcode, 206);
    assert.equal(verified.reportedTcb.microcode, 115);
    assert.equal(verified.report.chipId.toString('hex'), trustee.expected.expect.report.chip_id);
  });

  const cases: Array<[string, () => unknown, AttestErrorCode]> = [
    [
      'the flipped report (byte 21)',
      () =>
        appraise({
          ...virtee.evidence,
          report: readFileSync(join(vectorPath('sev-snp', 'virtee-milan'), 'report-flipped.bin')),
        }),
      'ERR_ATTEST_SNP_SIGNATURE',
    ],
    [
      'a VCEK whose byte 40 is flipped',
      () =>
        appraise({
          ...virtee.evidence,
          leaf: readFileSync(join(vectorPath('sev-snp', 'virtee-milan'), 'vcek_milan-byte40-flipped.der')),
        }),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    ...[42, 0x50, 0x90, 0x180].map((offset): [string, () => unknown, AttestErrorCode] => [
      `an edit at byte ${offset}`,
      () => appraise({ ...trustee.evidence, report: mutate(trustee.evidence.report, offset, (b) => b + 1) }),
      'ERR_ATTEST_SNP_SIGNATURE',
    ]),
    [
      'the chain built with the ASVK instead of the ASK',
      () => appraise({ ...trustee.evidence, certificates: trustee.evidence.certificates.slice(1) }),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    [
      'a chain without the ARK (the pin names a fingerprint, not a certificate)',
      () => appraise({ ...trustee.evidence, certificates: trustee.evidence.certificates.slice(0, 1) }),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    [
      'a time after the VCEK expired',
      () => appraise(virtee.evidence, {}, new Date('2031-01-01T00:00:00Z')),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    [
      'a time before the VCEK was issued',
      () => appraise(virtee.evidence, {}, new Date('2022-01-01T00:00:00Z')),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    [
      'the VCEK of another chip',
      () => appraise({ ...virtee.evidence, leaf: trustee.evidence.leaf, certificates: trustee.evidence.certificates }),
      'ERR_ATTEST_SNP_SIGNATURE',
    ],
    [
      'a truncated report',
      () => appraise({ ...virtee.evidence, report: virtee.evidence.report.subarray(0, 1183) }),
      'ERR_ATTEST_SNP_MALFORMED',
    ],
    [
      'an oversized report',
      () => appraise({ ...virtee.evidence, report: Buffer.concat([virtee.evidence.report, Buffer.of(0)]) }),
      'ERR_ATTEST_SNP_MALFORMED',
    ],
    [
      'version 1',
      () => appraise({ ...virtee.evidence, report: mutate(virtee.evidence.report, 0, () => 1) }),
      'ERR_ATTEST_SNP_VERSION',
    ],
    [
      'version 6',
      () => appraise({ ...virtee.evidence, report: mutate(virtee.evidence.report, 0, () => 6) }),
      'ERR_ATTEST_SNP_VERSION',
    ],
    [
      'another signature algorithm',
      () => appraise({ ...virtee.evidence, report: mutate(virtee.evidence.report, 0x34, () => 2) }),
      'ERR_ATTEST_SNP_MALFORMED',
    ],
    [
      'a non-zero byte after the signature',
      () => appraise({ ...virtee.evidence, report: mutate(virtee.evidence.report, SNP_REPORT_SIZE - 1, () => 1) }),
      'ERR_ATTEST_SNP_MALFORMED',
    ],
    [
      'report_data that is not the challenge',
      () => appraise(virtee.evidence, { reportData: { challenge: { nonce: Buffer.from('nonce') } } }),
      'ERR_ATTEST_REPORT_DATA',
    ],
    [
      'a measurement not in the image database',
      () => appraise(virtee.evidence, { measurements: [Buffer.alloc(48)] }),
      'ERR_ATTEST_MEASUREMENT',
    ],
    ['other host_data', () => appraise(virtee.evidence, { hostData: Buffer.alloc(32, 1) }), 'ERR_ATTEST_HOST_DATA'],
    [
      'a microcode below the minimum TCB',
      () => appraise(virtee.evidence, { minimumTcb: { microcode: 116 } }),
      'ERR_ATTEST_SNP_TCB_POLICY',
    ],
    [
      'a product the deployment does not accept',
      () => appraise(virtee.evidence, { products: ['Genoa'] }),
      'ERR_ATTEST_SNP_PRODUCT',
    ],
    [
      'a stepping the deployment does not accept',
      () => appraise(virtee.evidence, { productNames: ['Milan-B1'] }),
      'ERR_ATTEST_SNP_PRODUCT',
    ],
  ];
  for (const [name, run, code] of cases) it(`refuses ${name} with ${code}`, () => refusal(code, run));

  it('accepts the minimum TCB it meets exactly, and its own stepping', () => {
    appraise(virtee.evidence, {
      minimumTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
      productNames: ['Milan-B0'],
    });
  });
});

describe('SEV-SNP reports of a fake AMD hierarchy', () => {
  const authority = createSnpAuthority('Milan', AT);
  const roots = [authority.ark];
  const vcekEvidence = (report: Buffer): SnpEvidence => ({
    report,
    leaf: authority.vcek,
    certificates: [authority.ask],
  });
  const vlekEvidence = (report: Buffer): SnpEvidence => ({
    report,
    leaf: authority.vlek,
    certificates: [authority.asvk],
  });
  const nonce = Buffer.from('c0ffee', 'hex');
  const bound = { reportData: { challenge: { nonce } } };

  it('accepts a report whose report_data is derived from the challenge, when its root is trusted', () => {
    const report = mintSnpReport(authority, { reportData: reportDataFor({ nonce }) });
    const verified = appraise(vcekEvidence(report), bound, AT, roots);
    assert.equal(verified.report.version, 3);
    assert.deepEqual(verified.report.cpuid, { family: 0x19, model: 1, stepping: 1 });
  });

  it('refuses the same report when its root is not trusted (not pinned)', () => {
    refusal('ERR_ATTEST_SNP_CHAIN', () => appraise(vcekEvidence(mintSnpReport(authority)), {}, AT, []));
  });

  it('accepts a VLEK-signed report through the ASVK', () => {
    const verified = appraise(vlekEvidence(mintSnpReport(authority, { signerInfo: 1 << 2 })), {}, AT, roots);
    assert.equal(verified.signingKey, 'VLEK');
  });

  it('accepts a debug guest only where the deployment allows debug', () => {
    const report = mintSnpReport(authority, { policy: 0xb0000n });
    refusal('ERR_ATTEST_SNP_POLICY', () => appraise(vcekEvidence(report), {}, AT, roots));
    assert.equal(appraise(vcekEvidence(report), { allowDebug: true }, AT, roots).report.policy.debug, true);
  });

  it('accepts VMPL 1 only where the deployment allows it', () => {
    const report = mintSnpReport(authority, { vmpl: 1 });
    refusal('ERR_ATTEST_SNP_VMPL', () => appraise(vcekEvidence(report), {}, AT, roots));
    appraise(vcekEvidence(report), { maxVmpl: 1 }, AT, roots);
  });

  const cases: Array<[string, () => unknown, AttestErrorCode]> = [
    [
      'a policy with a migration agent',
      () => appraise(vcekEvidence(mintSnpReport(authority, { policy: 0x70000n })), {}, AT, roots),
      'ERR_ATTEST_SNP_POLICY',
    ],
    [
      'a policy whose bit 17 is clear',
      () => appraise(vcekEvidence(mintSnpReport(authority, { policy: 0x10000n })), {}, AT, roots),
      'ERR_ATTEST_SNP_POLICY',
    ],
    [
      'a reported TCB lower than the VCEK certifies',
      () =>
        appraise(vcekEvidence(mintSnpReport(authority, { reportedTcb: authority.tcb - (1n << 56n) })), {}, AT, roots),
      'ERR_ATTEST_SNP_TCB_MISMATCH',
    ],
    [
      "a chip_id that is not the VCEK's hwID",
      () => appraise(vcekEvidence(mintSnpReport(authority, { chipId: Buffer.alloc(64, 7) })), {}, AT, roots),
      'ERR_ATTEST_SNP_TCB_MISMATCH',
    ],
    [
      'a report naming a VLEK sent with the VCEK',
      () => appraise(vcekEvidence(mintSnpReport(authority, { signerInfo: 1 << 2 }, authority.vcekKey)), {}, AT, roots),
      'ERR_ATTEST_SNP_SIGNER',
    ],
    [
      'a VLEK sent with the ASK (swapped intermediates)',
      () =>
        appraise(
          { ...vlekEvidence(mintSnpReport(authority, { signerInfo: 1 << 2 })), certificates: [authority.ask] },
          {},
          AT,
          roots,
        ),
      'ERR_ATTEST_SNP_CHAIN',
    ],
    [
      'an unsigned report (signer key 7)',
      () => appraise(vcekEvidence(mintSnpReport(authority, { signerInfo: 7 << 2 })), {}, AT, roots),
      'ERR_ATTEST_SNP_SIGNER',
    ],
    [
      'an unknown signer key (3)',
      () => appraise(vcekEvidence(mintSnpReport(authority, { signerInfo: 3 << 2 })), {}, AT, roots),
      'ERR_ATTEST_SNP_SIGNER',
    ],
    [
      'a report signed by another key',
      () =>
        appraise(vcekEvidence(mintSnpReport(authority, {}, createSnpAuthority('Milan', AT).vcekKey)), {}, AT, roots),
      'ERR_ATTEST_SNP_SIGNATURE',
    ],
    [
      'a Genoa CPUID under a Milan root',
      () =>
        appraise(
          vcekEvidence(mintSnpReport(authority, { cpuid: { family: 0x19, model: 0x11, stepping: 1 } })),
          {},
          AT,
          roots,
        ),
      'ERR_ATTEST_SNP_PRODUCT',
    ],
    [
      'a report made for another nonce',
      () =>
        appraise(
          vcekEvidence(mintSnpReport(authority, { reportData: reportDataFor({ nonce: Buffer.of(1) }) })),
          bound,
          AT,
          roots,
        ),
      'ERR_ATTEST_REPORT_DATA',
    ],
    [
      'a report bound to the nonce and another key than expected',
      () =>
        appraise(
          vcekEvidence(mintSnpReport(authority, { reportData: reportDataFor({ nonce, boundKey: Buffer.of(1) }) })),
          bound,
          AT,
          roots,
        ),
      'ERR_ATTEST_REPORT_DATA',
    ],
  ];
  for (const [name, run, code] of cases) it(`refuses ${name} with ${code}`, () => refusal(code, run));

  it("refuses a chain whose ASK the ARK's CRL revokes, and accepts it with a CRL that does not", () => {
    const report = mintSnpReport(authority);
    const day = 86_400_000;
    const revoking = issueSnpCrl(authority, [2], new Date(AT.getTime() - day), new Date(AT.getTime() + day));
    const clean = issueSnpCrl(authority, [9], new Date(AT.getTime() - day), new Date(AT.getTime() + day));
    refusal('ERR_ATTEST_SNP_REVOKED', () =>
      verifySnpReport(vcekEvidence(report), { at: AT, trustedRoots: roots, crls: [revoking] }),
    );
    const verified = verifySnpReport(vcekEvidence(report), { at: AT, trustedRoots: roots, crls: [clean] });
    assert.equal(verified.chain.crl?.nextUpdate?.getTime(), AT.getTime() + day);
  });

  it('parses every field of a minted report back', () => {
    const report = parseSnpReport(mintSnpReport(authority, { guestSvn: 9, vmpl: 2, hostData: Buffer.alloc(32, 5) }));
    assert.equal(report.guestSvn, 9);
    assert.equal(report.vmpl, 2);
    assert.equal(report.hostData.toString('hex'), '05'.repeat(32));
    assert.equal(report.signingKey, 'VCEK');
  });
});
