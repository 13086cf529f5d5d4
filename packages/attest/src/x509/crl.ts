// X.509 certificate revocation lists (RFC 5280 §5): parse, check the issuer's signature, list revoked serials.
import { type X509Certificate, constants, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { type DerNode, DER_TAG as TAG, parseDer, readChildren, toOid } from '@sealroom/formats';

export interface CertificateList {
  /** DER of the issuer Name, compared byte for byte with the issuing certificate's subject. */
  readonly issuer: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serial numbers, upper-case hex without leading zeros (as node:crypto prints serials). */
  readonly revoked: ReadonlySet<string>;
  readonly tbs: Buffer;
  readonly signatureAlgorithm: DerNode;
  readonly signature: Buffer;
}

function fail(message: string): never {
  throw new AttestError('ERR_ATTEST_MALFORMED_CRL', `CRL: ${message}.`);
}

/** UTCTime or GeneralizedTime (RFC 5280 §5.1.2.4), always in UTC with seconds. */
export function readDerTime(node: DerNode | undefined): Date {
  if (node === undefined) return fail('missing time');
  const text = Buffer.from(node.value).toString('latin1');
  let match: RegExpExecArray | null = null;
  if (node.tag === TAG.UTC_TIME) match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  else if (node.tag === TAG.GENERALIZED_TIME) match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return fail('bad time');
  let year = Number(match[1]);
  if (node.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) fail('bad date');
  return date;
}

function serialHex(node: DerNode): string {
  if (node.tag !== TAG.INTEGER || node.value.length === 0) fail('bad serial number');
  return normalizeSerial(Buffer.from(node.value).toString('hex'));
}

/** A serial number as upper-case hex of even length without redundant leading zero bytes. */
export function normalizeSerial(hex: string): string {
  const trimmed = hex.toUpperCase().replace(/^0+(?=.)/, '');
  return trimmed.length % 2 === 1 ? `0${trimmed}` : trimmed;
}

/** Parses a DER CertificateList; PEM input is accepted too. */
export function parseCrl(input: Uint8Array): CertificateList {
  const text = Buffer.from(input).toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  const der = pem === null ? input : Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64');
  let parts: DerNode[];
  try {
    parts = readChildren(parseDer(der));
  } catch (error) {
    throw new AttestError('ERR_ATTEST_MALFORMED_CRL', 'CRL: not DER.', { cause: error });
  }
  const [tbsNode, algorithm, signatureNode] = parts;
  if (parts.length !== 3 || tbsNode?.tag !== TAG.SEQUENCE || algorithm?.tag !== TAG.SEQUENCE) fail('bad structure');
  if (signatureNode?.tag !== TAG.BIT_STRING || signatureNode.value[0] !== 0) fail('bad signature');
  let fields: DerNode[];
  try {
    fields = readChildren(tbsNode);
  } catch (error) {
    throw new AttestError('ERR_ATTEST_MALFORMED_CRL', 'CRL: bad tbsCertList.', { cause: error });
  }
  let i = fields[0]?.tag === TAG.INTEGER ? 1 : 0; // version is optional (v1 CRLs omit it)
  i++; // signature AlgorithmIdentifier inside tbsCertList
  const issuer = fields[i++];
  if (issuer?.tag !== TAG.SEQUENCE) fail('bad issuer');
  const thisUpdate = readDerTime(fields[i++]);
  let nextUpdate: Date | undefined;
  const maybeNext = fields[i];
  if (maybeNext !== undefined && (maybeNext.tag === TAG.UTC_TIME || maybeNext.tag === TAG.GENERALIZED_TIME)) {
    nextUpdate = readDerTime(maybeNext);
    i++;
  }
  const revoked = new Set<string>();
  const list = fields[i];
  if (list !== undefined && list.tag === TAG.SEQUENCE) {
    try {
      for (const entry of readChildren(list)) revoked.add(serialHex(readChildren(entry)[0]!));
    } catch (error) {
      if (error instanceof AttestError && error.code === 'ERR_ATTEST_MALFORMED_CRL') throw error;
      throw new AttestError('ERR_ATTEST_MALFORMED_CRL', 'CRL: bad revoked certificate entry.', { cause: error });
    }
  }
  return {
    issuer: Buffer.from(issuer.raw),
    thisUpdate,
    ...(nextUpdate === undefined ? {} : { nextUpdate }),
    revoked,
    tbs: Buffer.from(tbsNode.raw),
    signatureAlgorithm: algorithm,
    signature: Buffer.from(signatureNode.value.subarray(1)),
  };
}

const HASH_OF: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Verifies a signature over `data` made with the AlgorithmIdentifier `algorithm` (ECDSA, RSA PKCS#1 v1.5, RSA-PSS). */
export function verifyWithAlgorithm(
  data: Uint8Array,
  algorithm: DerNode,
  signature: Uint8Array,
  key: KeyObject,
): boolean {
  try {
    const [oidNode, params] = readChildren(algorithm);
    const oid = toOid(oidNode!);
    const simple: Record<string, string> = {
      '1.2.840.10045.4.3.2': 'sha256',
      '1.2.840.10045.4.3.3': 'sha384',
      '1.2.840.113549.1.1.11': 'sha256',
      '1.2.840.113549.1.1.12': 'sha384',
    };
    const hash = simple[oid];
    if (hash !== undefined) return verify(hash, data, key, signature);
    if (oid !== '1.2.840.113549.1.1.10' || params === undefined) return false;
    // RSASSA-PSS-params (RFC 4055 §3.1): [0] hashAlgorithm, [1] maskGenAlgorithm, [2] saltLength.
    let pssHash = 'sha1';
    let saltLength = 20;
    for (const field of readChildren(params)) {
      const inner = readChildren(field)[0]!;
      if (field.tag === 0xa0) pssHash = HASH_OF[toOid(readChildren(inner)[0]!)] ?? 'unknown';
      if (field.tag === 0xa2) saltLength = Number(Buffer.from(inner.value).readUIntBE(0, inner.value.length));
    }
    if (pssHash === 'unknown') return false;
    return verify(pssHash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
  } catch {
    return false;
  }
}

/** True when `issuer` signed the CRL and its Name is the CRL's issuer. */
export function crlSignedBy(crl: CertificateList, issuer: X509Certificate): boolean {
  if (subjectNameDer(issuer)?.equals(crl.issuer) !== true) return false;
  return verifyWithAlgorithm(crl.tbs, crl.signatureAlgorithm, crl.signature, issuer.publicKey);
}

/** The DER subject Name of a certificate (tbsCertificate field 6, after the optional version). */
export function subjectNameDer(cert: X509Certificate): Buffer | undefined {
  try {
    const tbs = readChildren(readChildren(parseDer(cert.raw))[0]!);
    const offset = tbs[0]?.tag === 0xa0 ? 1 : 0;
    return Buffer.from(tbs[offset + 4]!.raw);
  } catch {
    return undefined;
  }
}
