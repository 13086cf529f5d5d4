// TDX appraisal: quote and QE report signatures, the PCK chain to Intel, collateral, then the deployment's policy.
import { createHash, createPublicKey } from 'node:crypto';
import { verifyEcdsaP1363 } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { bindCosLog, parseCosState, type AttestedCosState } from '../eventlog/cos.ts';
import { decodeCel } from '../eventlog/cel.ts';
import { type ExpectedReportData, checkReportData } from '../report-data.ts';
import { TPM_ALG } from '../tpm/constants.ts';
import {
  type QeIdentityEvaluation,
  type SignedCollateral,
  type TcbStatus,
  type TdxTcbEvaluation,
  evaluateQeIdentity,
  evaluateTdxTcb,
} from './collateral.ts';
import {
  type IntelChainOptions,
  type PckExtensions,
  INTEL_LEAF,
  checkIntelRevocation,
  readPckExtensions,
  verifyIntelChain,
} from './pck.ts';
import { type TdxQuote, parseTdxQuote, tdDebug } from './quote.ts';

export interface TdxCollateral {
  readonly tcbInfo?: SignedCollateral;
  readonly qeIdentity?: SignedCollateral;
  /** Intel CRLs (DER or PEM): the PCK Platform/Processor CA CRL and the root CA CRL. */
  readonly crls?: readonly Uint8Array[];
}

export interface VerifyTdxOptions extends IntelChainOptions {
  readonly collateral?: TdxCollateral;
  /** Accept TCB info or QE identity past its nextUpdate; the result then says the collateral is stale. */
  readonly allowStaleCollateral?: boolean;
}

export interface VerifiedTdxQuote {
  readonly quote: TdxQuote;
  readonly pck: PckExtensions;
  readonly tcb?: TdxTcbEvaluation;
  readonly qe?: QeIdentityEvaluation;
  readonly crls: ReadonlyArray<{ issuer: string; thisUpdate: Date; nextUpdate?: Date }>;
}

/** An uncompressed P-256 point X‖Y as a public key. */
function p256Key(xy: Buffer) {
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: xy.subarray(0, 32).toString('base64url'),
        y: xy.subarray(32).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch (error) {
    throw new AttestError('ERR_ATTEST_TDX_SIGNATURE', 'TDX quote: the attestation key is not a P-256 point.', {
      cause: error,
    });
  }
}

/**
 * Authenticates a quote: the PCK chain to a pinned Intel SGX Root CA, the QE report signed by the PCK, the QE
 * REPORTDATA binding the attestation key, the quote signed by that key; with collateral, CRLs and TCB status.
 */
export function verifyTdxQuote(bytes: Uint8Array, options: VerifyTdxOptions): VerifiedTdxQuote {
  const quote = parseTdxQuote(bytes);
  const chain = verifyIntelChain(quote.pckChainPem, 'PCK chain', [INTEL_LEAF.pck], options);
  const pckCert = chain[0]!;
  if (!verifyEcdsaP1363('sha256', quote.qeReport.raw, pckCert.publicKey, quote.qeReportSignature)) {
    throw new AttestError('ERR_ATTEST_TDX_QE_SIGNATURE', 'TDX: the QE report is not signed by the PCK.');
  }
  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  const reportData = quote.qeReport.reportData;
  if (!reportData.subarray(0, 32).equals(binding) || reportData.subarray(32).some((b) => b !== 0)) {
    throw new AttestError('ERR_ATTEST_TDX_QE_BINDING', 'TDX: the QE report does not bind the attestation key.');
  }
  const key = p256Key(quote.attestationKey);
  if (!verifyEcdsaP1363('sha256', quote.signed, key, quote.signature)) {
    throw new AttestError(
      'ERR_ATTEST_TDX_SIGNATURE',
      'TDX: the quote signature does not verify with its attestation key.',
    );
  }
  const pck = readPckExtensions(pckCert);
  const collateral = options.collateral;
  const crls = checkIntelRevocation(chain, collateral?.crls ?? [], options.at);
  const collateralOptions = { ...options, allowStale: options.allowStaleCollateral === true };
  const tcb =
    collateral?.tcbInfo === undefined
      ? undefined
      : evaluateTdxTcb(collateral.tcbInfo, pck, quote.body, collateralOptions);
  const qe =
    collateral?.qeIdentity === undefined
      ? undefined
      : evaluateQeIdentity(collateral.qeIdentity, quote.qeReport, collateralOptions);
  return { quote, pck, ...(tcb === undefined ? {} : { tcb }), ...(qe === undefined ? {} : { qe }), crls };
}

/** One accepted set of TD launch measurements: MRTD and RTMR 0–2 (hex or bytes, 48 bytes each). */
export interface TdxReferenceMeasurements {
  readonly mrTd: Uint8Array;
  readonly rtmr0?: Uint8Array;
  readonly rtmr1?: Uint8Array;
  readonly rtmr2?: Uint8Array;
}

export interface TdxAppraisalPolicy {
  readonly reportData?: ExpectedReportData;
  readonly allowDebug?: boolean;
  /** Statuses accepted for the platform and QE TCB; default `UpToDate` only. Revoked is never accepted. */
  readonly acceptedTcbStatuses?: readonly TcbStatus[];
  /** Refuse a quote whose TCB info and QE identity were not evaluated (default false: inspection only). */
  readonly requireCollateral?: boolean;
  /** When given, MRTD and the RTMRs each entry names must equal one entry's. */
  readonly measurements?: readonly TdxReferenceMeasurements[];
  /** The launcher's canonical event log: replayed into RTMR 3 (SHA-384) and parsed as COS launch events. */
  readonly canonicalEventLog?: Uint8Array;
}

/** Applies a deployment's policy; returns the COS launch state when an event log was given. */
export function appraiseTdxQuote(verified: VerifiedTdxQuote, policy: TdxAppraisalPolicy): AttestedCosState | undefined {
  const { body } = verified.quote;
  if (tdDebug(body) && policy.allowDebug !== true) {
    throw new AttestError('ERR_ATTEST_TDX_DEBUG', 'TDX: the TD attributes allow debugging.');
  }
  const accepted: readonly TcbStatus[] = (policy.acceptedTcbStatuses ?? ['UpToDate']).filter((s) => s !== 'Revoked');
  if (policy.requireCollateral === true && (verified.tcb === undefined || verified.qe === undefined)) {
    throw new AttestError(
      'ERR_ATTEST_TDX_COLLATERAL',
      'TDX: TCB info and QE identity are required and were not given.',
    );
  }
  for (const [what, status] of [
    ['platform', verified.tcb?.status],
    ['TDX module', verified.tcb?.module?.status],
    ['quoting enclave', verified.qe?.status],
  ] as const) {
    if (status !== undefined && !accepted.includes(status)) {
      throw new AttestError('ERR_ATTEST_TDX_TCB_STATUS', `TDX: the ${what} TCB status ${status} is not accepted.`);
    }
  }
  if (policy.reportData !== undefined) checkReportData(body.reportData, policy.reportData);
  if (policy.measurements !== undefined) {
    const same = (want: Uint8Array | undefined, actual: Buffer): boolean => want === undefined || actual.equals(want);
    const match = policy.measurements.some(
      (m) =>
        same(m.mrTd, body.mrTd) &&
        same(m.rtmr0, body.rtmrs[0]) &&
        same(m.rtmr1, body.rtmrs[1]) &&
        same(m.rtmr2, body.rtmrs[2]),
    );
    if (!match)
      throw new AttestError('ERR_ATTEST_MEASUREMENT', 'TDX: MRTD and RTMR 0-2 are not in the image database.');
  }
  if (policy.canonicalEventLog === undefined) return undefined;
  const records = decodeCel(policy.canonicalEventLog);
  bindCosLog(records, new Map([[TPM_ALG.SHA384, body.rtmrs[3]]]), 'tdx');
  return parseCosState(records, 'tdx');
}
