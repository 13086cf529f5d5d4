// SEV-SNP appraisal: the report signature by its VCEK/VLEK, the chain to AMD, the TCB, then the deployment's policy.
import { verifyEcdsaP1363 } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { type ExpectedReportData, checkReportData } from '../report-data.ts';
import {
  type SnpChainOptions,
  type VerifiedSnpChain,
  leafKind,
  parseCertificate,
  readSnpKeyCertificate,
  verifySnpChain,
} from './certs.ts';
import {
  type SnpProduct,
  type SnpReport,
  type SnpTcb,
  decodeSnpTcb,
  parseSnpReport,
  productOfCpuid,
} from './report.ts';

export interface SnpEvidence {
  /** The 1184-byte ATTESTATION_REPORT. */
  readonly report: Uint8Array;
  /** The VCEK or VLEK (DER) named by the report's signer_info. */
  readonly leaf: Uint8Array;
  /** ASK or ASVK, and optionally the ARK (DER); the ARK may come from the trusted roots instead. */
  readonly certificates: readonly Uint8Array[];
}

export interface VerifiedSnpReport {
  readonly report: SnpReport;
  readonly product: SnpProduct;
  /** The certificate's product name (`Milan-B0`: product and stepping), when it carries one. */
  readonly productName?: string;
  readonly signingKey: 'VCEK' | 'VLEK';
  readonly reportedTcb: SnpTcb;
  readonly currentTcb: SnpTcb;
  readonly committedTcb: SnpTcb;
  readonly launchTcb: SnpTcb;
  readonly chain: VerifiedSnpChain;
}

function mismatch(message: string): never {
  throw new AttestError('ERR_ATTEST_SNP_TCB_MISMATCH', `SEV-SNP: ${message}.`);
}

/**
 * Authenticates a report: parses it, checks the signer named by signer_info, the chain to a pinned AMD root,
 * the ECDSA P-384 signature, and that the certificate's TCB and hwID are the report's reported_tcb and chip_id
 * (reported_tcb, never current_tcb: the VCEK is issued for the TCB the guest chose to report).
 */
export function verifySnpReport(evidence: SnpEvidence, options: SnpChainOptions): VerifiedSnpReport {
  const report = parseSnpReport(evidence.report);
  if (report.signingKey === 'NONE') {
    throw new AttestError('ERR_ATTEST_SNP_SIGNER', 'SEV-SNP report is not signed (signer_info names no key).');
  }
  const leafCert = parseCertificate(evidence.leaf, 'VCEK or VLEK');
  const kind = leafKind(leafCert);
  if (kind !== report.signingKey) {
    throw new AttestError(
      'ERR_ATTEST_SNP_SIGNER',
      `SEV-SNP report names a ${report.signingKey}, the certificate is a ${kind}.`,
    );
  }
  // The chain first: nothing in the certificate is read before its signature is known to be AMD's.
  const chain = verifySnpChain({ kind, cert: leafCert }, evidence.certificates, options);
  const leaf = readSnpKeyCertificate(evidence.leaf, leafCert);
  const key = leaf.cert.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new AttestError('ERR_ATTEST_SNP_SIGNER', `SEV-SNP ${leaf.kind} key is not ECDSA P-384.`);
  }
  if (!verifyEcdsaP1363('sha384', report.signed, key, report.signature)) {
    throw new AttestError(
      'ERR_ATTEST_SNP_SIGNATURE',
      `SEV-SNP report signature does not verify with its ${leaf.kind}.`,
    );
  }
  const { product } = chain;
  if (leaf.productName !== undefined && leaf.productName.split('-')[0] !== product) {
    throw new AttestError(
      'ERR_ATTEST_SNP_PRODUCT',
      `SEV-SNP ${leaf.kind} is for ${leaf.productName}, its root for ${product}.`,
    );
  }
  if (report.cpuid !== undefined && (report.cpuid.family !== 0 || report.cpuid.model !== 0)) {
    const fromCpuid = productOfCpuid(report.cpuid.family, report.cpuid.model);
    if (fromCpuid !== product) {
      throw new AttestError('ERR_ATTEST_SNP_PRODUCT', `SEV-SNP report CPUID is not a ${product} processor.`);
    }
  }
  const reportedTcb = decodeSnpTcb(report.reportedTcbRaw, product);
  for (const field of ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const) {
    const certified = leaf.tcb[field];
    const reported = reportedTcb[field];
    if (reported === undefined) continue;
    if (certified === undefined) mismatch(`the ${leaf.kind} certifies no ${field} SVN`);
    if (certified !== reported) mismatch(`reported_tcb ${field} ${reported} is not the ${leaf.kind}'s ${certified}`);
  }
  if (leaf.kind === 'VCEK' && !report.maskChipKey) {
    const hwId = leaf.hwId;
    const matches =
      hwId !== undefined &&
      report.chipId.subarray(0, hwId.length).equals(hwId) &&
      report.chipId.subarray(hwId.length).every((b) => b === 0);
    if (!matches) mismatch("chip_id is not the VCEK's hwID");
  }
  return {
    report,
    product,
    ...(leaf.productName === undefined ? {} : { productName: leaf.productName }),
    signingKey: leaf.kind,
    reportedTcb,
    currentTcb: decodeSnpTcb(report.currentTcbRaw, product),
    committedTcb: decodeSnpTcb(report.committedTcbRaw, product),
    launchTcb: decodeSnpTcb(report.launchTcbRaw, product),
    chain,
  };
}

/** A deployment's rules for SEV-SNP guests; every field is optional and its absence is the strict default. */
export interface SnpAppraisalPolicy {
  /** The report_data the report must carry; without it the binding is not checked (inspection only). */
  readonly reportData?: ExpectedReportData;
  /** Allow guests whose policy permits debugging (default: refused). */
  readonly allowDebug?: boolean;
  /** Allow a migration agent (default: refused). */
  readonly allowMigrationAgent?: boolean;
  /** The highest (least privileged) VMPL accepted; default 0. */
  readonly maxVmpl?: number;
  /** Accepted products; default: any Sealroom knows. */
  readonly products?: readonly SnpProduct[];
  /** Accepted product names with stepping, as the VCEK states them (`Milan-B0`, `Genoa-B1`); default any. */
  readonly productNames?: readonly string[];
  /** Minimum SVN of each TCB component of reported_tcb. */
  readonly minimumTcb?: Partial<Record<'bootloader' | 'tee' | 'snp' | 'microcode' | 'fmc', number>>;
  /** The HOST_DATA the guest must carry (32 bytes). */
  readonly hostData?: Uint8Array;
  /** Accepted launch measurements (48 bytes each); when given, the measurement must be one of them. */
  readonly measurements?: readonly Uint8Array[];
}

/** Applies a deployment's policy to an authenticated report; throws the refusal of the first rule it breaks. */
export function appraiseSnpReport(verified: VerifiedSnpReport, policy: SnpAppraisalPolicy): void {
  const { report } = verified;
  const refuse = (
    code: 'ERR_ATTEST_SNP_POLICY' | 'ERR_ATTEST_SNP_VMPL' | 'ERR_ATTEST_SNP_TCB_POLICY',
    message: string,
  ): never => {
    throw new AttestError(code, `SEV-SNP: ${message}.`);
  };
  if (!report.policy.reservedOne) refuse('ERR_ATTEST_SNP_POLICY', 'guest policy bit 17 (must be one) is clear');
  if (report.policy.debug && policy.allowDebug !== true)
    refuse('ERR_ATTEST_SNP_POLICY', 'the guest policy allows debugging');
  if (report.policy.migrateMa && policy.allowMigrationAgent !== true) {
    refuse('ERR_ATTEST_SNP_POLICY', 'the guest policy allows a migration agent');
  }
  if (report.vmpl > (policy.maxVmpl ?? 0)) refuse('ERR_ATTEST_SNP_VMPL', `the report comes from VMPL ${report.vmpl}`);
  if (policy.products !== undefined && !policy.products.includes(verified.product)) {
    throw new AttestError('ERR_ATTEST_SNP_PRODUCT', `SEV-SNP: ${verified.product} is not an accepted product.`);
  }
  if (policy.productNames !== undefined && !policy.productNames.includes(verified.productName ?? '')) {
    throw new AttestError('ERR_ATTEST_SNP_PRODUCT', 'SEV-SNP: the processor stepping is not an accepted one.');
  }
  for (const [field, minimum] of Object.entries(policy.minimumTcb ?? {})) {
    const actual = verified.reportedTcb[field as keyof SnpTcb];
    if (typeof actual !== 'number' || minimum === undefined || actual < minimum) {
      refuse('ERR_ATTEST_SNP_TCB_POLICY', `reported ${field} SVN ${String(actual)} is below ${String(minimum)}`);
    }
  }
  if (policy.reportData !== undefined) checkReportData(report.reportData, policy.reportData);
  if (policy.hostData !== undefined && !Buffer.from(policy.hostData).equals(report.hostData)) {
    throw new AttestError('ERR_ATTEST_HOST_DATA', 'SEV-SNP: host_data is not the required value.');
  }
  if (policy.measurements !== undefined && !policy.measurements.some((m) => report.measurement.equals(m))) {
    throw new AttestError('ERR_ATTEST_MEASUREMENT', 'SEV-SNP: the launch measurement is not in the image database.');
  }
}
