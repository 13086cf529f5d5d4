// Intel collateral for TDX: TCB info and QE identity (signed JSON from Intel's PCS), checked and evaluated offline.
import type { X509Certificate } from 'node:crypto';
import { verifyEcdsaP1363 } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { INTEL_LEAF, type IntelChainOptions, type PckExtensions, verifyIntelChain } from './pck.ts';
import type { QeReport, TdxBody } from './quote.ts';

/** Statuses Intel assigns a TCB level (Intel PCS API, TCB info v3). */
export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

/** One signed collateral document as Intel serves it: the JSON body and the PEM issuer chain (a response header). */
export interface SignedCollateral {
  readonly json: string;
  readonly issuerChainPem: string;
}

const TCB_STATUSES: ReadonlySet<string> = new Set<TcbStatus>([
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
]);

function statusOf(value: unknown): TcbStatus {
  if (typeof value !== 'string' || !TCB_STATUSES.has(value)) fail('a TCB level has an unknown status');
  return value as TcbStatus;
}

function fail(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_COLLATERAL', `TDX collateral: ${message}.`);
}

/**
 * The raw text of a top-level member's value. The signature covers these exact bytes, so the value is never
 * re-serialized: the scanner tracks string literals and bracket depth to find where it ends.
 */
export function rawJsonMember(text: string, key: string): string {
  let depth = 0;
  let i = 0;
  const readString = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const literal = readString();
      if (depth === 1 && literal === JSON.stringify(key)) {
        while (/\s/.test(text[i] ?? '')) i++;
        if (text[i] !== ':') continue;
        i++;
        while (/\s/.test(text[i] ?? '')) i++;
        const start = i;
        let inner = 0;
        while (i < text.length) {
          const d = text[i]!;
          if (d === '"') {
            readString();
            if (inner === 0) break;
            continue;
          }
          if (d === '{' || d === '[') inner++;
          else if (d === '}' || d === ']') {
            inner--;
            if (inner === 0) {
              i++;
              break;
            }
          }
          i++;
        }
        return text.slice(start, i);
      }
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return fail(`no "${key}" member`);
}

/** Checks `signature` (hex r‖s, ECDSA P-256 SHA-256) over the raw member by the issuer chain's leaf. */
function verifySigned(
  doc: SignedCollateral,
  member: string,
  options: IntelChainOptions,
): { body: Record<string, unknown>; signer: X509Certificate } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(doc.json) as Record<string, unknown>;
  } catch (error) {
    throw new AttestError('ERR_ATTEST_TDX_COLLATERAL', `TDX collateral: the ${member} is not JSON.`, { cause: error });
  }
  const raw = rawJsonMember(doc.json, member);
  const signature = parsed.signature;
  if (typeof signature !== 'string' || !/^[0-9a-fA-F]{128}$/.test(signature))
    fail(`the ${member} signature is not 64 bytes of hex`);
  const chain = verifyIntelChain(doc.issuerChainPem, `${member} issuer chain`, [INTEL_LEAF.tcbSigning], options);
  const signer = chain[0]!;
  if (!verifyEcdsaP1363('sha256', Buffer.from(raw, 'utf8'), signer.publicKey, Buffer.from(signature, 'hex'))) {
    fail(`the ${member} signature does not verify`);
  }
  const body = parsed[member];
  if (typeof body !== 'object' || body === null) fail(`no ${member} object`);
  return { body: body as Record<string, unknown>, signer };
}

const hex = (value: unknown, what: string): Buffer => {
  if (typeof value !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(value)) fail(`${what} is not hex`);
  return Buffer.from(value, 'hex');
};

const date = (value: unknown, what: string): Date => {
  const parsed = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(parsed.getTime())) fail(`${what} is not a date`);
  return parsed;
};

const svns = (value: unknown, what: string): number[] => {
  if (!Array.isArray(value) || value.length !== 16) fail(`${what} is not 16 components`);
  return value.map((c) => {
    const svn = (c as { svn?: unknown }).svn;
    if (typeof svn !== 'number' || !Number.isInteger(svn) || svn < 0) fail(`${what} has a bad SVN`);
    return svn;
  });
};

export interface CollateralDates {
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  /** True when `at` is past nextUpdate (accepted only where the deployment allows stale collateral). */
  readonly stale: boolean;
}

/** The TDX module's own rating, from the TCB info's module identities (module major version 1 and up). */
export interface TdxModuleEvaluation {
  /** `TDX_01`, `TDX_02`…: the identity of the module's major version. */
  readonly id: string;
  readonly status: TcbStatus;
  readonly tcbDate: Date;
}

export interface TdxTcbEvaluation {
  readonly status: TcbStatus;
  readonly tcbDate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly tcbInfo: CollateralDates;
  /** Present when the module is rated by a module identity (TEE_TCB_SVN byte 1 is not zero). */
  readonly module?: TdxModuleEvaluation;
}

function unmatched(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_TCB_UNMATCHED', `TDX: ${message}.`);
}

/**
 * Rates the TDX module by the TCB info's `tdxModuleIdentities` (Intel TDX TCB info v3): the identity `TDX_<major>`
 * must name the module's signer and attributes, and its first TCB level whose ISV SVN the module's minor SVN
 * (TEE_TCB_SVN byte 0) meets gives the module's status. A module below every level is refused.
 */
function evaluateModuleIdentity(info: Record<string, unknown>, body: TdxBody): TdxModuleEvaluation {
  const major = body.teeTcbSvn[1]!;
  const id = `TDX_${major.toString(16).padStart(2, '0').toUpperCase()}`;
  const identities = info.tdxModuleIdentities;
  if (!Array.isArray(identities)) unmatched(`the TCB info rates no TDX module identities, and the module is ${id}`);
  const identity = (identities as Array<Record<string, unknown>>).find((i) => i.id === id);
  if (identity === undefined) unmatched(`the TCB info has no identity for TDX module ${id}`);
  if (!hex(identity.mrsigner, `${id}.mrsigner`).equals(body.mrSignerSeam)) {
    unmatched(`MRSIGNERSEAM is not the signer of TDX module ${id}`);
  }
  const mask = hex(identity.attributesMask, `${id}.attributesMask`);
  const want = hex(identity.attributes, `${id}.attributes`);
  if (mask.length !== 8 || want.length !== 8) fail(`${id} attributes are not 8 bytes`);
  if (body.seamAttributes.some((b, i) => (b & mask[i]!) !== want[i])) {
    unmatched(`SEAMATTRIBUTES are not those of TDX module ${id}`);
  }
  if (!Array.isArray(identity.tcbLevels)) fail(`${id} has no TCB levels`);
  for (const level of identity.tcbLevels as Array<Record<string, unknown>>) {
    const isvsvn = (level.tcb as { isvsvn?: unknown } | undefined)?.isvsvn;
    if (typeof isvsvn !== 'number') fail(`a ${id} TCB level has no isvsvn`);
    if (body.teeTcbSvn[0]! >= isvsvn) {
      return { id, status: statusOf(level.tcbStatus), tcbDate: date(level.tcbDate, `${id} tcbDate`) };
    }
  }
  return unmatched(`TDX module ${id} SVN ${body.teeTcbSvn[0]} is below every level of its identity`);
}

function datesOf(body: Record<string, unknown>, member: string, at: Date, allowStale: boolean): CollateralDates {
  const issueDate = date(body.issueDate, `${member}.issueDate`);
  const nextUpdate = date(body.nextUpdate, `${member}.nextUpdate`);
  if (issueDate > at) fail(`the ${member} was issued after the verification time`);
  const stale = at > nextUpdate;
  if (stale && !allowStale) {
    throw new AttestError('ERR_ATTEST_TDX_COLLATERAL_EXPIRED', `TDX collateral: the ${member} has expired.`);
  }
  return { issueDate, nextUpdate, stale };
}

/**
 * Evaluates the platform TCB: the first TCB level (Intel lists them newest first) whose 16 SGX components
 * and PCE SVN the PCK meets and whose 16 TDX components the quote's TEE_TCB_SVN meets gives the status.
 */
export function evaluateTdxTcb(
  doc: SignedCollateral,
  pck: PckExtensions,
  body: TdxBody,
  options: IntelChainOptions & { readonly allowStale?: boolean },
): TdxTcbEvaluation {
  const { body: info } = verifySigned(doc, 'tcbInfo', options);
  if (info.id !== 'TDX' || info.version !== 3) fail('the TCB info is not TDX TCB info version 3');
  if (!hex(info.fmspc, 'fmspc').equals(pck.fmspc)) fail('the TCB info is for another FMSPC');
  if (!hex(info.pceId, 'pceId').equals(pck.pceId)) fail('the TCB info is for another PCE ID');
  const dates = datesOf(info, 'tcbInfo', options.at, options.allowStale === true);
  const module = info.tdxModule as { mrsigner?: unknown; attributes?: unknown; attributesMask?: unknown } | undefined;
  if (module !== undefined) {
    if (!hex(module.mrsigner, 'tdxModule.mrsigner').equals(body.mrSignerSeam))
      fail('MRSIGNERSEAM is not the TDX module signer');
    const mask = hex(module.attributesMask, 'tdxModule.attributesMask');
    const want = hex(module.attributes, 'tdxModule.attributes');
    if (mask.length !== 8 || want.length !== 8 || body.seamAttributes.some((b, i) => (b & mask[i]!) !== want[i])) {
      fail('SEAMATTRIBUTES are not the TDX module attributes');
    }
  }
  // TEE_TCB_SVN byte 1 is the TDX module's major version. From 1 on, Intel rates the module by the TCB info's
  // module identities (TDX_01, …) and the platform levels skip the first two bytes, which are the module's.
  const moduleRating = body.teeTcbSvn[1] !== 0 ? evaluateModuleIdentity(info, body) : undefined;
  const skip = moduleRating === undefined ? 0 : 2;
  if (!Array.isArray(info.tcbLevels)) fail('no TCB levels');
  for (const level of info.tcbLevels as Array<Record<string, unknown>>) {
    const tcb = level.tcb as Record<string, unknown> | undefined;
    if (tcb === undefined) fail('a TCB level has no tcb');
    const sgx = svns(tcb.sgxtcbcomponents, 'sgxtcbcomponents');
    const tdx = svns(tcb.tdxtcbcomponents, 'tdxtcbcomponents');
    if (typeof tcb.pcesvn !== 'number') fail('a TCB level has no pcesvn');
    const meets =
      sgx.every((svn, i) => pck.sgxTcb[i]! >= svn) &&
      pck.pceSvn >= tcb.pcesvn &&
      tdx.every((svn, i) => i < skip || body.teeTcbSvn[i]! >= svn);
    if (!meets) continue;
    return {
      status: statusOf(level.tcbStatus),
      tcbDate: date(level.tcbDate, 'tcbDate'),
      tcbEvaluationDataNumber: Number(info.tcbEvaluationDataNumber),
      tcbInfo: dates,
      ...(moduleRating === undefined ? {} : { module: moduleRating }),
    };
  }
  throw new AttestError('ERR_ATTEST_TDX_TCB_UNMATCHED', 'TDX: no TCB level of the TCB info matches the platform.');
}

export interface QeIdentityEvaluation {
  readonly status: TcbStatus;
  readonly qeIdentity: CollateralDates;
}

/** Checks the quoting enclave against Intel's TD_QE identity and returns the status of its ISV SVN. */
export function evaluateQeIdentity(
  doc: SignedCollateral,
  qe: QeReport,
  options: IntelChainOptions & { readonly allowStale?: boolean },
): QeIdentityEvaluation {
  const { body: identity } = verifySigned(doc, 'enclaveIdentity', options);
  if (identity.id !== 'TD_QE') fail('the QE identity is not a TD_QE identity');
  const dates = datesOf(identity, 'enclaveIdentity', options.at, options.allowStale === true);
  const refuse = (what: string): never => {
    throw new AttestError('ERR_ATTEST_TDX_QE_IDENTITY', `TDX quoting enclave: ${what} does not match its identity.`);
  };
  if (!hex(identity.mrsigner, 'mrsigner').equals(qe.mrSigner)) refuse('MRSIGNER');
  if (identity.isvprodid !== qe.isvProdId) refuse('ISVPRODID');
  const miscMask = hex(identity.miscselectMask, 'miscselectMask').readUInt32BE(0);
  const misc = hex(identity.miscselect, 'miscselect').readUInt32BE(0);
  // MISCSELECT is little-endian in the report and written big-endian (as a number) in the identity.
  if ((qe.miscSelect & miscMask) >>> 0 !== misc) refuse('MISCSELECT');
  const attrMask = hex(identity.attributesMask, 'attributesMask');
  const attributes = hex(identity.attributes, 'attributes');
  if (attrMask.length !== 16 || attributes.length !== 16) fail('attributes are not 16 bytes');
  if (qe.attributes.some((b, i) => (b & attrMask[i]!) !== attributes[i])) refuse('ATTRIBUTES');
  if (!Array.isArray(identity.tcbLevels)) fail('no QE TCB levels');
  for (const level of identity.tcbLevels as Array<{ tcb?: { isvsvn?: unknown }; tcbStatus?: unknown }>) {
    const isvsvn = level.tcb?.isvsvn;
    if (typeof isvsvn !== 'number') fail('a QE TCB level has no isvsvn');
    if (qe.isvSvn >= isvsvn) return { status: statusOf(level.tcbStatus), qeIdentity: dates };
  }
  return refuse('ISVSVN');
}
