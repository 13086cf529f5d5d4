// Appraisal of SEV-SNP reports and TDX quotes sent over HTTP, against the deployment's collateral store only
// (no network during appraisal): authenticity, collateral, policy, the report_data binding and the launch log.
import { X509Certificate, createHash } from 'node:crypto';
import {
  type AttestedCosState,
  CEL_TYPE,
  COS_CCMR,
  type ExpectedReportData,
  type SignedCollateral,
  TPM_ALG,
  type TcbStatus,
  appraiseSnpReport,
  appraiseTdxQuote,
  decodeCel,
  parseCosState,
  parseSnpCertTable,
  readSnpKeyCertificate,
  replayCel,
  verifySnpReport,
  verifyTdxQuote,
} from '@sealroom/attest';
import type { SevSnpAttestationBytes, TdCcelBytes } from '@sealroom/core';
import type { LoadedCollateral } from './collateral-store.ts';
import { VerifierError } from './errors.ts';
import { type HardwareClaims, snpClaims, tdxClaims } from './hardware-claims.ts';
import { commonName, intelIssuerChain, latest } from './offline.ts';

export interface HardwareEvidence {
  readonly sevSnp?: SevSnpAttestationBytes;
  readonly tdx?: TdCcelBytes;
}

export interface HardwarePolicy {
  readonly at: Date;
  readonly collateral: LoadedCollateral;
  /** SHA-256 (hex) of AMD roots trusted beside the pinned ones (Genoa, Turin: see docs/attestation.md). */
  readonly amdArkSha256: readonly string[];
  readonly acceptedTcbStatuses: readonly TcbStatus[];
  readonly allowStaleCollateral: boolean;
  readonly allowDebug: boolean;
}

export interface HardwareBinding {
  readonly nonce: Uint8Array;
  /** The key report_data vouches for: the vTPM's AK, or the instance identity key of bare evidence. */
  readonly boundKey: Uint8Array;
  /** A vTPM attestation accompanies the report: the launch log is the TPM's, and the hwmodel is GCP_*. */
  readonly withVtpm: boolean;
}

export interface AppraisedHardware {
  readonly claims: HardwareClaims;
  /** SEV-SNP MEASUREMENT or TDX MRTD (hex): what the image database knows a bare image by. */
  readonly launchMeasurement: string;
  /** Bare evidence only: the launch read from the report-bound log. */
  readonly cosState?: AttestedCosState;
}

const sha256 = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
/** Whether a certificate of the host's table or the store is a VCEK or VLEK; bytes that do not parse are not. */
function isLeaf(der: Uint8Array): boolean {
  try {
    return ['SEV-VCEK', 'SEV-VLEK'].includes(commonName(der));
  } catch {
    return false;
  }
}

function incomplete(message: string): never {
  throw new VerifierError('ERR_VERIFIER_EVIDENCE_INCOMPLETE', message);
}

function launchLog(log: Uint8Array | undefined, what: string): Uint8Array {
  if (log === undefined || log.length === 0) incomplete(`Bare ${what} evidence must carry its canonical event log.`);
  return log;
}

function appraiseSnp(
  evidence: SevSnpAttestationBytes,
  binding: HardwareBinding,
  policy: HardwarePolicy,
): AppraisedHardware {
  const table = parseSnpCertTable(evidence.auxBlob).map((e) => e.der);
  const chipId = Buffer.from(evidence.report).subarray(0x1a0, 0x1e0);
  // The host's table is tried first; a VCEK from the store must be this chip's own.
  const cached = policy.collateral.certificates.filter((der) => {
    if (!isLeaf(der)) return false;
    const cert = readSnpKeyCertificate(der);
    return cert.kind === 'VLEK' || cert.hwId?.equals(chipId.subarray(0, cert.hwId.length)) === true;
  });
  const leaf = table.find(isLeaf) ?? cached[0];
  if (leaf === undefined) incomplete('The SEV-SNP report came without its VCEK or VLEK, and the store has none.');
  const pool = [...table, ...policy.collateral.certificates].filter((der) => !isLeaf(der));
  // An ARK is trusted when pinned (Milan built in) or configured by fingerprint; the host's copy is just bytes.
  const trustedRoots = pool.filter((der) => policy.amdArkSha256.includes(sha256(der)));
  const verified = verifySnpReport(
    { report: evidence.report, leaf, certificates: pool },
    { at: policy.at, trustedRoots, crls: policy.collateral.crls },
  );
  let cosState: AttestedCosState | undefined;
  let reportData: ExpectedReportData = { challenge: { nonce: binding.nonce, boundKey: binding.boundKey } };
  if (!binding.withVtpm) {
    // SEV-SNP has no runtime register: the launcher binds the replay of its log in report_data.
    const records = decodeCel(launchLog(evidence.canonicalEventLog, 'SEV-SNP'));
    const launchRegister = replayCel(records, TPM_ALG.SHA384, CEL_TYPE.CCMR, COS_CCMR);
    reportData = { challenge: { nonce: binding.nonce, boundKey: binding.boundKey, launchRegister } };
    cosState = parseCosState(records, 'sev-snp');
  }
  appraiseSnpReport(verified, { reportData, allowDebug: policy.allowDebug });
  return {
    claims: snpClaims(verified, { withVtpm: binding.withVtpm }),
    launchMeasurement: verified.report.measurement.toString('hex'),
    ...(cosState === undefined ? {} : { cosState }),
  };
}

function signed(json: string | undefined, issuerChainPem: string): SignedCollateral | undefined {
  return json === undefined ? undefined : { json, issuerChainPem };
}

function appraiseTdx(evidence: TdCcelBytes, binding: HardwareBinding, policy: HardwarePolicy): AppraisedHardware {
  const { collateral, at } = policy;
  const fmspc = verifyTdxQuote(evidence.tdQuote, { at }).pck.fmspc.toString('hex');
  const issuerChainPem = intelIssuerChain(collateral.certificates, []);
  const tcbInfo = latest(collateral.tcbInfos, 'tcbInfo', at, (b) => String(b.fmspc).toLowerCase() === fmspc);
  const qeIdentity = latest(collateral.qeIdentities, 'enclaveIdentity', at, (b) => b.id === 'TD_QE');
  const tcbDoc = signed(tcbInfo, issuerChainPem);
  const qeDoc = signed(qeIdentity, issuerChainPem);
  const verified = verifyTdxQuote(evidence.tdQuote, {
    at,
    collateral: {
      ...(tcbDoc ? { tcbInfo: tcbDoc } : {}),
      ...(qeDoc ? { qeIdentity: qeDoc } : {}),
      crls: collateral.crls,
    },
    allowStaleCollateral: policy.allowStaleCollateral,
  });
  const launch = appraiseTdxQuote(verified, {
    reportData: { challenge: { nonce: binding.nonce, boundKey: binding.boundKey } },
    allowDebug: policy.allowDebug,
    acceptedTcbStatuses: policy.acceptedTcbStatuses,
    // Appraisal never fetches: without TCB info and QE identity in the store, TDX evidence is refused.
    requireCollateral: true,
    ...(binding.withVtpm ? {} : { canonicalEventLog: launchLog(evidence.canonicalEventLog, 'TDX') }),
  });
  return {
    claims: tdxClaims(verified, { withVtpm: binding.withVtpm }),
    launchMeasurement: verified.quote.body.mrTd.toString('hex'),
    ...(launch === undefined ? {} : { cosState: launch }),
  };
}

/** Appraises the one hardware report of a request; attest refusals are re-raised by the caller's mapping. */
export function appraiseHardware(
  evidence: HardwareEvidence,
  binding: HardwareBinding,
  policy: HardwarePolicy,
): AppraisedHardware {
  if (evidence.sevSnp !== undefined && evidence.tdx !== undefined) {
    throw new VerifierError('ERR_VERIFIER_UNSUPPORTED_EVIDENCE', 'Send one hardware report: SEV-SNP or TDX.');
  }
  if (evidence.sevSnp !== undefined) return appraiseSnp(evidence.sevSnp, binding, policy);
  if (evidence.tdx !== undefined) return appraiseTdx(evidence.tdx, binding, policy);
  return incomplete('No hardware report was sent.');
}

/** The DER SPKI of a certificate's key: what report_data binds for bare evidence. */
export function spkiOf(der: Uint8Array): Buffer {
  return new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
}
