// Appraisal of TPM evidence as a whole: AK chain, every quote, event-log replay, canonical event log.
import { createHash, type KeyObject } from 'node:crypto';
import { KeptResults } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { decodeCel } from '../eventlog/cel.ts';
import { COS_PCR, bindCosLog, parseCosState } from '../eventlog/cos.ts';
import type { AttestedCosState } from '../eventlog/cos.ts';
import { extractBootState, normalizeCmdline } from '../eventlog/boot-state.ts';
import type { BootState } from '../eventlog/boot-state.ts';
import { bindTcgEventLog, parseTcgEventLog } from '../eventlog/tcg.ts';
import type { TcgEventLog } from '../eventlog/tcg.ts';
import { verifyAkCertificateChain } from '../x509/ak-chain.ts';
import { readInstanceInfo } from '../x509/instance-info.ts';
import type { InstanceInfo } from '../x509/instance-info.ts';
import type { QuoteInfo } from './attest.ts';
import { TPM_ALG } from './constants.ts';
import { checkAttestationKeyTemplate, matchesPublicKey, parseTpmPublic } from './public.ts';
import { verifyQuote } from './quote.ts';
import type { TpmQuote } from './quote.ts';

/** TPM evidence as the Confidential Computing API's `tpmAttestation` carries it, decoded to bytes. */
export interface TpmEvidence {
  readonly quotes: readonly TpmQuote[];
  /** TPMT_PUBLIC of the AK; optional, since the certificate carries the key. */
  readonly akPub?: Uint8Array;
  readonly akCert: Uint8Array;
  readonly certChain: readonly Uint8Array[];
  readonly tcgEventLog?: Uint8Array;
  readonly canonicalEventLog?: Uint8Array;
}

export interface VerifyTpmEvidenceOptions {
  readonly nonce: Uint8Array;
  readonly trustedRoots: readonly Uint8Array[];
  /** Intermediates the verifier holds, in addition to the evidence's certChain. */
  readonly intermediates?: readonly Uint8Array[];
  readonly at: Date;
}

export interface VerifiedTpmEvidence {
  readonly root: Uint8Array;
  readonly akPublicKey: KeyObject;
  readonly instanceInfo?: InstanceInfo;
  /** TPM_ALG_ID → PCR index → value, for every verified quote. */
  readonly pcrs: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>;
  readonly quotes: readonly QuoteInfo[];
  readonly eventLog?: TcgEventLog;
  /** What the bound TCG log says booted: Secure Boot, boot applications, GRUB, kernel command line. */
  readonly bootState?: BootState;
  /** The kernel command line measured at boot, trimmed of whitespace and NULs (the image database key). */
  readonly kernelCmdline?: string;
  readonly cosState?: AttestedCosState;
}

/** Quoted PCR values: TPM_ALG_ID → PCR index → value. */
export type QuotedPcrs = ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>;

/**
 * The TCG event log, bound to PCR values its quotes were verified to vouch for, and the boot state read
 * from it. Step of `verifyTpmEvidence`, exported so each step can be exercised alone.
 */
export function verifyBootLog(
  bytes: Uint8Array,
  pcrs: QuotedPcrs,
): { eventLog: TcgEventLog; bootState: BootState; kernelCmdline?: string } {
  // A boot's TCG log and its PCRs are the same in every attestation until the next boot (and in every instance
  // of one image on one machine type), and the result is a pure function of both: parsed and replayed once per
  // (log, PCR values), not once per attestation.
  return verifiedBootLogs.get(logKey(bytes, pcrs), () => parseAndBindBootLog(bytes, pcrs));
}

/** Logs whose verified result is kept, per kind; each entry is a few kB. */
const VERIFIED_LOG_CACHE_LIMIT = 256;
const verifiedBootLogs = new KeptResults<
  string,
  { eventLog: TcgEventLog; bootState: BootState; kernelCmdline?: string }
>(VERIFIED_LOG_CACHE_LIMIT);
const verifiedLaunchLogs = new KeptResults<string, AttestedCosState>(VERIFIED_LOG_CACHE_LIMIT);

/** Bytes of one PCR's entry in a log's key: bank, index, value length (absent: 0xffffffff). */
const PCR_HEADER_BYTES = 8;
const ABSENT = 0xffffffff;

/**
 * SHA-256 over the log and the quoted PCR values it is bound to (every PCR, or only `onlyIndex`), each with its
 * bank, index and length, in a fixed order. The PCRs go to the hash in one piece: a hash update per PCR cost
 * more than hashing the log.
 */
function logKey(bytes: Uint8Array, pcrs: QuotedPcrs, onlyIndex?: number): string {
  const banks = [...pcrs.keys()].sort((a, b) => a - b);
  const entries: [number, number, Uint8Array | undefined][] = [];
  let size = 0;
  for (const alg of banks) {
    const values = pcrs.get(alg) as ReadonlyMap<number, Uint8Array>;
    const indexes = onlyIndex === undefined ? [...values.keys()].sort((a, b) => a - b) : [onlyIndex];
    for (const index of indexes) {
      const value = values.get(index);
      entries.push([alg, index, value]);
      size += PCR_HEADER_BYTES + (value?.length ?? 0);
    }
  }
  const quoted = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [alg, index, value] of entries) {
    quoted.writeUInt16BE(alg, at);
    quoted.writeUInt16BE(index, at + 2);
    quoted.writeUInt32BE(value === undefined ? ABSENT : value.length, at + 4);
    at += PCR_HEADER_BYTES;
    if (value !== undefined) {
      quoted.set(value, at);
      at += value.length;
    }
  }
  return createHash('sha256').update(bytes).update(quoted).digest('base64');
}

function parseAndBindBootLog(
  bytes: Uint8Array,
  pcrs: QuotedPcrs,
): { eventLog: TcgEventLog; bootState: BootState; kernelCmdline?: string } {
  const eventLog = parseTcgEventLog(bytes);
  const bootState = extractBootState(eventLog, bindTcgEventLog(eventLog, pcrs));
  return {
    eventLog,
    bootState,
    ...(bootState.kernelCmdline === undefined ? {} : { kernelCmdline: normalizeCmdline(bootState.kernelCmdline) }),
  };
}

/** The canonical event log of TPM evidence: COS rules, then bound to the quoted PCR 13 of every bank. */
export function verifyLaunchLog(bytes: Uint8Array, pcrs: QuotedPcrs): AttestedCosState {
  // The same log and PCR 13 in every attestation of one launch (and of every instance launching one workload
  // the same way): decoded, read and replayed once per (log, PCR 13 of each bank), as boot logs are.
  return verifiedLaunchLogs.get(logKey(bytes, pcrs, COS_PCR), () => {
    const records = decodeCel(bytes);
    const cosState = parseCosState(records, 'tpm');
    bindCosLog(records, new Map([...pcrs].map(([alg, values]) => [alg, values.get(COS_PCR)])), 'tpm');
    return cosState;
  });
}

/**
 * Verifies TPM evidence. When an AK certificate is present its key, not akPub, verifies the quotes
 * (go-tpm-tools `TestVerifyIgnoreAKPubWithAKCert`); a differing akPub is refused. SHA-1 alone is refused.
 * Throws AttestError on the first check that fails; the verifier's appraisal then judges what it returns.
 *
 * @example
 * ```ts
 * const ca = createPlatformCa(Date.now());
 * const platform = bootSoftPlatform({ ca, instance, launcherBuild, imageFamily: 'confidential-space', nowMs: Date.now() });
 * await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_DIGEST, imageDigest));
 * const nonce = randomBytes(32);
 * const { tpm } = await platform.attest(nonce);
 * const verified = verifyTpmEvidence(tpm, { nonce, trustedRoots: [ca.certificate], at: new Date() });
 * verified.instanceInfo?.instanceName; // from the AK certificate
 * verified.cosState?.container.imageDigest; // === imageDigest, replayed from the canonical event log
 * ```
 */
export function verifyTpmEvidence(evidence: TpmEvidence, options: VerifyTpmEvidenceOptions): VerifiedTpmEvidence {
  const chain = verifyAkCertificateChain(evidence.akCert, {
    roots: options.trustedRoots,
    intermediates: [...evidence.certChain, ...(options.intermediates ?? [])],
    at: options.at,
  });
  const akPublicKey = chain.leaf.publicKey;
  if (evidence.akPub !== undefined && evidence.akPub.length > 0) {
    const akPub = parseTpmPublic(evidence.akPub);
    checkAttestationKeyTemplate(akPub);
    if (!matchesPublicKey(akPub, akPublicKey)) {
      throw new AttestError('ERR_ATTEST_AK_MISMATCH', 'The AK public area is not the key of the AK certificate.');
    }
  }
  if (!evidence.quotes.some((q) => q.hashAlgo !== TPM_ALG.SHA1)) {
    throw new AttestError(
      'ERR_ATTEST_UNSUPPORTED_ALGORITHM',
      'The evidence has no quote of a SHA-256 or stronger bank.',
    );
  }
  const pcrs = new Map<number, ReadonlyMap<number, Uint8Array>>();
  const quotes: QuoteInfo[] = [];
  for (const quote of evidence.quotes) {
    if (pcrs.has(quote.hashAlgo)) throw new AttestError('ERR_ATTEST_PCR_DIGEST_MISMATCH', 'Two quotes of one bank.');
    quotes.push(verifyQuote(quote, { akPublicKey, nonce: options.nonce }));
    pcrs.set(quote.hashAlgo, quote.pcrValues);
  }
  const boot =
    evidence.tcgEventLog !== undefined && evidence.tcgEventLog.length > 0
      ? verifyBootLog(evidence.tcgEventLog, pcrs)
      : undefined;
  const cosState =
    evidence.canonicalEventLog !== undefined && evidence.canonicalEventLog.length > 0
      ? verifyLaunchLog(evidence.canonicalEventLog, pcrs)
      : undefined;
  const instanceInfo = readInstanceInfo(evidence.akCert);
  return {
    root: chain.root,
    akPublicKey,
    ...(instanceInfo === undefined ? {} : { instanceInfo }),
    pcrs,
    quotes,
    ...boot,
    ...(cosState === undefined ? {} : { cosState }),
  };
}
