// Evidence and collateral files, told apart by their content: SEV-SNP reports, TDX quotes, certificates, CRLs,
// Intel collateral JSON, TPM attestations and canonical event logs.
import { X509Certificate } from 'node:crypto';
import { decodeCel, parseCrl, splitPemCertificates } from '@sealroom/attest';
import { VerifierError } from './errors.ts';

export type EvidenceFileKind =
  | 'sev-snp-report'
  | 'tdx-quote'
  | 'certificates'
  | 'crl'
  | 'tcb-info'
  | 'qe-identity'
  | 'tpm-attestation'
  | 'canonical-event-log';

export interface ClassifiedFile {
  readonly name: string;
  readonly kind: EvidenceFileKind;
  readonly bytes: Buffer;
  /** For `certificates`: each certificate's DER. */
  readonly certificates?: readonly Buffer[];
}

function looksLikeSnpReport(b: Buffer): boolean {
  if (b.length !== 0x4a0) return false;
  const version = b.readUInt32LE(0);
  return version >= 2 && version <= 5 && b.readUInt32LE(0x34) === 1;
}

function looksLikeTdxQuote(b: Buffer): boolean {
  if (b.length < 48) return false;
  const version = b.readUInt16LE(0);
  return (version === 4 || version === 5) && b.readUInt32LE(4) === 0x81;
}

function jsonKind(text: string): EvidenceFileKind | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) return undefined;
    if ('tcbInfo' in value && 'signature' in value) return 'tcb-info';
    if ('enclaveIdentity' in value && 'signature' in value) return 'qe-identity';
    if ('akCert' in value && Array.isArray(value.quotes)) return 'tpm-attestation';
  } catch {
    return undefined;
  }
  return undefined;
}

function isDerCertificate(b: Buffer): boolean {
  try {
    new X509Certificate(b);
    return true;
  } catch {
    return false;
  }
}

function isCrl(b: Buffer): boolean {
  try {
    parseCrl(b);
    return true;
  } catch {
    return false;
  }
}

function isCel(b: Buffer): boolean {
  try {
    return decodeCel(b).length > 0;
  } catch {
    return false;
  }
}

/** Tells what a file is by its bytes alone (never by its name); refuses what it cannot tell. */
export function classifyFile(name: string, bytes: Uint8Array): ClassifiedFile {
  const b = Buffer.from(bytes);
  if (looksLikeSnpReport(b)) return { name, kind: 'sev-snp-report', bytes: b };
  if (looksLikeTdxQuote(b)) return { name, kind: 'tdx-quote', bytes: b };
  const text = b.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const certificates = splitPemCertificates(text);
    if (certificates.length > 0 && certificates.every(isDerCertificate)) {
      return { name, kind: 'certificates', bytes: b, certificates };
    }
  }
  if (text.includes('-----BEGIN X509 CRL-----') && isCrl(b)) return { name, kind: 'crl', bytes: b };
  const json = text.trimStart().startsWith('{') ? jsonKind(b.toString('utf8')) : undefined;
  if (json !== undefined) return { name, kind: json, bytes: b };
  if (b[0] === 0x30 && isDerCertificate(b)) return { name, kind: 'certificates', bytes: b, certificates: [b] };
  if (b[0] === 0x30 && isCrl(b)) return { name, kind: 'crl', bytes: b };
  if (isCel(b)) return { name, kind: 'canonical-event-log', bytes: b };
  throw new VerifierError('ERR_VERIFIER_EVIDENCE_FILE', `${name} is not evidence or collateral Sealroom reads.`);
}
