// Offline appraisal of evidence files (no server, no network): what `sealroom attestation verify` runs.
import { X509Certificate, createHash } from 'node:crypto';
import {
  type ExpectedReportData,
  INTEL_SGX_ROOT_SHA256,
  type SignedCollateral,
  type TcbStatus,
  type TpmQuote,
  appraiseSnpReport,
  appraiseTdxQuote,
  readSnpKeyCertificate,
  verifySnpReport,
  verifyTdxQuote,
  verifyTpmEvidence,
} from '@sealroom/attest';
import type { LoadedCollateral } from './collateral-store.ts';
import { VerifierError } from './errors.ts';
import { type ClassifiedFile, classifyFile } from './evidence-files.ts';
import { type HardwareClaims, snpClaims, tdxClaims } from './hardware-claims.ts';

export interface OfflineOptions {
  readonly at: Date;
  /** The challenge nonce: report_data must be derived from it (SEV-SNP, TDX) or equal it (TPM extraData). */
  readonly nonce?: Uint8Array;
  /** A report_data to compare verbatim instead (evidence made for another verifier), zero-padded to 64 bytes. */
  readonly reportData?: Uint8Array;
  /** Extra trusted roots (DER): an ARK for Genoa or Turin, a TPM platform CA. */
  readonly trustedRoots?: readonly Uint8Array[];
  readonly collateral?: LoadedCollateral;
  readonly allowDebug?: boolean;
  readonly acceptedTcbStatuses?: readonly TcbStatus[];
  readonly allowStaleCollateral?: boolean;
}

export interface OfflineVerdict {
  readonly verdict: 'accept';
  readonly evidence: 'sev-snp' | 'tdx' | 'tpm' | 'vtpm-sev-snp' | 'vtpm-tdx';
  readonly at: string;
  /** How report_data (or the quote's extraData) was checked. */
  readonly binding: 'challenge' | 'exact' | 'unchecked';
  readonly claims: Record<string, unknown>;
}

function incomplete(message: string): never {
  throw new VerifierError('ERR_VERIFIER_EVIDENCE_INCOMPLETE', message);
}

function expectedBinding(options: OfflineOptions): ExpectedReportData | undefined {
  if (options.reportData !== undefined) return { exact: options.reportData };
  if (options.nonce !== undefined) return { challenge: { nonce: options.nonce } };
  return undefined;
}

function bindingOf(options: OfflineOptions): OfflineVerdict['binding'] {
  return options.reportData !== undefined ? 'exact' : options.nonce !== undefined ? 'challenge' : 'unchecked';
}

const EMPTY: LoadedCollateral = { certificates: [], crls: [], tcbInfos: [], qeIdentities: [] };

/** Appraises one piece of evidence (a report, a quote or a TPM attestation) with the files that go with it. */
export function verifyEvidenceOffline(
  inputs: ReadonlyArray<{ name: string; bytes: Uint8Array }>,
  options: OfflineOptions,
): OfflineVerdict {
  const files = inputs.map((f) => classifyFile(f.name, f.bytes));
  const hardware = files.filter((f) => f.kind === 'sev-snp-report' || f.kind === 'tdx-quote');
  const tpm = files.filter((f) => f.kind === 'tpm-attestation');
  if (hardware.length > 1 || tpm.length > 1 || hardware.length + tpm.length === 0) {
    incomplete(
      `Give one report or quote, one TPM attestation, or one of each (got ${hardware.length} and ${tpm.length}).`,
    );
  }
  const cache = options.collateral ?? EMPTY;
  const certificates = files.flatMap((f) => (f.kind === 'certificates' ? (f.certificates ?? []) : []));
  const crls = [...files.filter((f) => f.kind === 'crl').map((f) => f.bytes), ...cache.crls];
  const report = hardware[0];
  if (tpm[0] === undefined) {
    if (report!.kind === 'sev-snp-report') return verifySnp(report!, certificates, crls, cache, options);
    return verifyTdx(report!, files, certificates, crls, cache, options);
  }
  const vtpm = verifyTpm(tpm[0], files, certificates, options);
  if (report === undefined) return vtpm.verdict;
  // A vTPM with a hardware report (GCE's shape on SEV-SNP and TDX): the report vouches for the AK, its
  // report_data derived from the same nonce and the AK's SPKI (docs/attestation.md, report_data).
  const bound: Bound = {
    reportData:
      options.reportData !== undefined
        ? { exact: options.reportData }
        : { challenge: { nonce: options.nonce!, boundKey: vtpm.akSpki } },
    withVtpm: true,
  };
  const hw =
    report.kind === 'sev-snp-report'
      ? verifySnp(report, certificates, crls, cache, options, bound)
      : verifyTdx(report, files, certificates, crls, cache, options, bound);
  const tpmClaims = vtpm.verdict.claims as { submods?: Record<string, unknown> };
  const hwClaims = hw.claims as { submods?: Record<string, unknown> };
  return {
    ...hw,
    evidence: report.kind === 'sev-snp-report' ? 'vtpm-sev-snp' : 'vtpm-tdx',
    binding: options.reportData !== undefined ? 'exact' : 'challenge',
    claims: { ...tpmClaims, ...hwClaims, submods: { ...tpmClaims.submods, ...hwClaims.submods } },
  };
}

/** How a hardware report must be bound when a vTPM attestation accompanies it. */
interface Bound {
  readonly reportData: ExpectedReportData;
  readonly withVtpm: true;
}

export function commonName(der: Uint8Array): string {
  const subject = new X509Certificate(der).subject.split('\n');
  return subject.find((l) => l.startsWith('CN='))?.slice(3) ?? '';
}

function verifySnp(
  evidence: ClassifiedFile,
  given: readonly Buffer[],
  crls: readonly Buffer[],
  cache: LoadedCollateral,
  options: OfflineOptions,
  bound?: Bound,
): OfflineVerdict {
  const isLeaf = (der: Buffer): boolean => ['SEV-VCEK', 'SEV-VLEK'].includes(commonName(der));
  const chipId = evidence.bytes.subarray(0x1a0, 0x1e0);
  // A leaf given with the report is used as given; one from the cache must be the chip's own VCEK (or a VLEK).
  const cached = cache.certificates.filter((der) => {
    if (!isLeaf(der)) return false;
    const cert = readSnpKeyCertificate(der);
    return cert.kind === 'VLEK' || cert.hwId?.equals(chipId) === true;
  });
  const leaf = given.find(isLeaf) ?? cached[0];
  if (leaf === undefined)
    incomplete('The SEV-SNP report needs its VCEK or VLEK: give it, or import it into the collateral cache.');
  const verified = verifySnpReport(
    { report: evidence.bytes, leaf, certificates: [...given, ...cache.certificates].filter((c) => !isLeaf(c)) },
    { at: options.at, trustedRoots: options.trustedRoots ?? [], crls },
  );
  const reportData = bound?.reportData ?? expectedBinding(options);
  appraiseSnpReport(verified, {
    ...(reportData === undefined ? {} : { reportData }),
    ...(options.allowDebug === undefined ? {} : { allowDebug: options.allowDebug }),
  });
  return verdict('sev-snp', snpClaims(verified, { withVtpm: bound !== undefined }), options);
}

function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** Intel serves each collateral's issuer chain as a header; offline it is rebuilt from the certificates at hand. */
export function intelIssuerChain(pool: readonly Buffer[], trustedRoots: readonly Uint8Array[]): string {
  const signer = pool.find((der) => commonName(der) === 'Intel SGX TCB Signing');
  const roots = [...pool, ...trustedRoots].filter((der) => commonName(der) === 'Intel SGX Root CA');
  const root =
    roots.find((der) => createHash('sha256').update(der).digest('hex') === INTEL_SGX_ROOT_SHA256) ?? roots[0];
  return signer === undefined || root === undefined ? '' : pem(signer) + pem(root);
}

export function latest(
  jsons: readonly string[],
  member: string,
  at: Date,
  match: (body: Record<string, unknown>) => boolean,
): string | undefined {
  let best: { json: string; issued: number } | undefined;
  for (const json of jsons) {
    const body = (JSON.parse(json) as Record<string, Record<string, unknown>>)[member];
    if (body === undefined || !match(body)) continue;
    const issued = Date.parse(String(body.issueDate));
    if (!(issued <= at.getTime())) continue;
    if (best === undefined || issued > best.issued) best = { json, issued };
  }
  return best?.json;
}

function verifyTdx(
  evidence: ClassifiedFile,
  files: readonly ClassifiedFile[],
  given: readonly Buffer[],
  crls: readonly Buffer[],
  cache: LoadedCollateral,
  options: OfflineOptions,
  bound?: Bound,
): OfflineVerdict {
  const chainOptions = { at: options.at, trustedRoots: options.trustedRoots ?? [] };
  const fmspc = verifyTdxQuote(evidence.bytes, chainOptions).pck.fmspc.toString('hex');
  const tcbInfos = [
    ...files.filter((f) => f.kind === 'tcb-info').map((f) => f.bytes.toString('utf8')),
    ...cache.tcbInfos,
  ];
  const qeIdentities = [
    ...files.filter((f) => f.kind === 'qe-identity').map((f) => f.bytes.toString('utf8')),
    ...cache.qeIdentities,
  ];
  const issuerChainPem = intelIssuerChain([...given, ...cache.certificates], options.trustedRoots ?? []);
  const tcbInfo = latest(tcbInfos, 'tcbInfo', options.at, (b) => String(b.fmspc).toLowerCase() === fmspc);
  const qeIdentity = latest(qeIdentities, 'enclaveIdentity', options.at, (b) => b.id === 'TD_QE');
  const hasCollateral = tcbInfos.length > 0 || qeIdentities.length > 0 || options.collateral !== undefined;
  const signed = (json: string | undefined): SignedCollateral | undefined =>
    json === undefined ? undefined : { json, issuerChainPem };
  const tcbDoc = signed(tcbInfo);
  const qeDoc = signed(qeIdentity);
  const verified = verifyTdxQuote(evidence.bytes, {
    ...chainOptions,
    collateral: { ...(tcbDoc ? { tcbInfo: tcbDoc } : {}), ...(qeDoc ? { qeIdentity: qeDoc } : {}), crls },
    allowStaleCollateral: options.allowStaleCollateral === true,
  });
  const log = files.find((f) => f.kind === 'canonical-event-log');
  const reportData = bound?.reportData ?? expectedBinding(options);
  const launch = appraiseTdxQuote(verified, {
    ...(reportData === undefined ? {} : { reportData }),
    ...(options.allowDebug === undefined ? {} : { allowDebug: options.allowDebug }),
    ...(options.acceptedTcbStatuses === undefined ? {} : { acceptedTcbStatuses: options.acceptedTcbStatuses }),
    requireCollateral: hasCollateral,
    ...(log === undefined ? {} : { canonicalEventLog: log.bytes }),
  });
  const claims = tdxClaims(verified, { withVtpm: bound !== undefined });
  const container = launch?.container;
  return verdict('tdx', claims, options, container === undefined ? {} : { container: { ...container } });
}

interface TpmAttestationJson {
  akPub?: string;
  akCert: string;
  quotes: Array<{ hashAlgo: number; pcrs: Record<string, string>; quote: string; rawSig: string }>;
  eventLog?: string;
  canonicalEventLog?: string;
}

function verifyTpm(
  evidence: ClassifiedFile,
  files: readonly ClassifiedFile[],
  given: readonly Buffer[],
  options: OfflineOptions,
): { verdict: OfflineVerdict; akSpki: Buffer } {
  if (options.nonce === undefined)
    incomplete('A TPM attestation is appraised against the nonce it quoted: give --nonce.');
  const json = JSON.parse(evidence.bytes.toString('utf8')) as TpmAttestationJson;
  const notTpm = (cause?: unknown): never => {
    throw new VerifierError('ERR_VERIFIER_EVIDENCE_FILE', `${evidence.name} is not a TPM attestation.`, {
      cause,
    });
  };
  if (typeof json.akCert !== 'string') notTpm();
  let quotes: TpmQuote[] = [];
  try {
    quotes = json.quotes.map((q) => ({
      hashAlgo: q.hashAlgo,
      pcrValues: new Map(Object.entries(q.pcrs).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')])),
      rawQuote: Buffer.from(q.quote, 'base64'),
      rawSignature: Buffer.from(q.rawSig, 'base64'),
    }));
  } catch (error) {
    notTpm(error);
  }
  const log = files.find((f) => f.kind === 'canonical-event-log')?.bytes;
  const verified = verifyTpmEvidence(
    {
      quotes,
      ...(json.akPub === undefined ? {} : { akPub: Buffer.from(json.akPub, 'base64') }),
      akCert: Buffer.from(json.akCert, 'base64'),
      certChain: [],
      ...(json.eventLog === undefined ? {} : { tcgEventLog: Buffer.from(json.eventLog, 'base64') }),
      ...(log !== undefined
        ? { canonicalEventLog: log }
        : json.canonicalEventLog === undefined
          ? {}
          : { canonicalEventLog: Buffer.from(json.canonicalEventLog, 'base64') }),
    },
    { nonce: options.nonce, trustedRoots: options.trustedRoots ?? [], intermediates: given, at: options.at },
  );
  const instance = verified.instanceInfo;
  const akSpki = verified.akPublicKey.export({ type: 'spki', format: 'der' });
  const verdict: OfflineVerdict = {
    verdict: 'accept',
    evidence: 'tpm',
    at: options.at.toISOString(),
    binding: 'exact',
    claims: {
      pcr_banks: [...verified.pcrs.keys()],
      ...(verified.kernelCmdline === undefined ? {} : { kernel_cmdline: verified.kernelCmdline }),
      ...(instance === undefined
        ? {}
        : {
            submods: {
              gce: {
                zone: instance.zone,
                project_id: instance.projectId,
                project_number: instance.projectNumber,
                instance_name: instance.instanceName,
                instance_id: instance.instanceId,
              },
            },
          }),
      ...(verified.cosState === undefined ? {} : { container: { ...verified.cosState.container } }),
    },
  };
  return { verdict, akSpki };
}

function verdict(
  evidence: OfflineVerdict['evidence'],
  claims: HardwareClaims,
  options: OfflineOptions,
  extra: Record<string, unknown> = {},
): OfflineVerdict {
  return {
    verdict: 'accept',
    evidence,
    at: options.at.toISOString(),
    binding: bindingOf(options),
    claims: { ...claims, ...extra },
  };
}
