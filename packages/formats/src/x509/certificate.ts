// X.509 v3 certificates (RFC 5280 §4.1) on the DER code: build and sign them, read their names and extensions.
import { createHash, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { FormatsError } from '../errors.ts';
import {
  TAG,
  der,
  derBitString,
  derBoolean,
  derExplicit,
  derInteger,
  derOctets,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8,
  expectTag,
  parseDer,
  readChildren,
  toBoolean,
  toOid,
} from './der.ts';

export interface CertExtension {
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** The fields of the TBSCertificate, as DER elements (version, serial, signature, issuer, validity, subject, …). */
function tbsFields(certDer: Uint8Array): ReturnType<typeof readChildren> {
  const cert = expectTag(parseDer(certDer), TAG.SEQUENCE, 'Certificate');
  return readChildren(expectTag(readChildren(cert)[0], TAG.SEQUENCE, 'TBSCertificate'));
}

/** The extensions of a DER certificate, by OID (RFC 5280 §4.1). */
export function readExtensions(certDer: Uint8Array): Map<string, CertExtension> {
  const out = new Map<string, CertExtension>();
  const wrapper = tbsFields(certDer).find((node) => node.tag === 0xa3);
  if (wrapper === undefined) return out;
  const list = expectTag(readChildren(wrapper)[0], TAG.SEQUENCE, 'Extensions');
  for (const ext of readChildren(list)) {
    const parts = readChildren(expectTag(ext, TAG.SEQUENCE, 'Extension'));
    const oid = toOid(expectTag(parts[0], TAG.OID, 'extnID'));
    const critical = parts.length === 3 ? toBoolean(parts[1]!) : false;
    const value = expectTag(parts.at(-1), TAG.OCTET_STRING, 'extnValue').value;
    if (out.has(oid)) throw new FormatsError('ERR_FORMATS_MALFORMED_DER', `Certificate repeats extension ${oid}.`);
    out.set(oid, { critical, value });
  }
  return out;
}

/** The subject Name of a certificate as DER: the issuer of every certificate it signs. */
export function readSubject(certDer: Uint8Array): Uint8Array {
  // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, …
  const fields = tbsFields(certDer);
  const hasVersion = fields[0]?.tag === 0xa0;
  return expectTag(fields[hasVersion ? 5 : 4], TAG.SEQUENCE, 'subject').raw;
}

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  extendedKeyUsage: '2.5.29.37',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
} as const;

/** Extended key usages (RFC 5280 §4.2.1.12). */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  /** TCG EKU for attestation identity keys (TCG EK Credential Profile §3.2.14). */
  tcgKpAikCertificate: '2.23.133.8.3',
} as const;

/** An X.501 name with an organisation and a common name, both UTF8String. */
export function encodeName(commonName: string, organization?: string): Buffer {
  const rdn = (oid: string, value: string): Buffer => derSet(derSequence(derOid(oid), derUtf8(value)));
  return derSequence(
    ...(organization === undefined ? [] : [rdn(OID.organization, organization)]),
    rdn(OID.commonName, commonName),
  );
}

/** A subjectAltName entry: a DNS name or an IPv4/IPv6 address in its text form. */
export interface SubjectAltName {
  readonly type: 'dns' | 'ip';
  readonly value: string;
}

export interface IssueCertificateOptions {
  readonly serial: Uint8Array;
  /** DER Name of the issuer (the subject of the signing certificate, see `readSubject`). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectPublicKey: KeyObject;
  readonly signingKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA may sign certificates (keyCertSign, cRLSign); any other certificate gets digitalSignature only. */
  readonly isCa: boolean;
  /** basicConstraints pathLenConstraint of a CA: how many intermediates may follow it. */
  readonly pathLength?: number;
  readonly extendedKeyUsage?: readonly string[];
  readonly subjectAltNames?: readonly SubjectAltName[];
  /** The issuer's subjectKeyIdentifier, written as the authorityKeyIdentifier (RFC 5280 §4.2.1.1). */
  readonly authorityKeyId?: Uint8Array;
  readonly extraExtensions?: ReadonlyArray<{ oid: string; critical: boolean; value: Uint8Array }>;
}

function signatureAlgorithm(key: KeyObject): { oid: string; hash: 'sha256' | 'sha384' | null; params: Buffer[] } {
  if (key.asymmetricKeyType === 'rsa') return { oid: OID.sha256WithRsa, hash: 'sha256', params: [Buffer.of(0x05, 0)] };
  // RFC 8410 §3: Ed25519 signs the message itself, and its AlgorithmIdentifier has no parameters.
  if (key.asymmetricKeyType === 'ed25519') return { oid: OID.ed25519, hash: null, params: [] };
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'secp384r1'
    ? { oid: OID.ecdsaWithSha384, hash: 'sha384', params: [] }
    : { oid: OID.ecdsaWithSha256, hash: 'sha256', params: [] };
}

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), derOctets(value));
}

/** The key identifier Sealroom writes: SHA-1 of the DER SubjectPublicKeyInfo. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

/** GeneralNames (RFC 5280 §4.2.1.6): dNSName [2] IA5String, iPAddress [7] OCTET STRING. */
function encodeAltNames(names: readonly SubjectAltName[]): Buffer {
  return derSequence(
    ...names.map((name) => {
      if (name.type === 'ip') return der(0x87, ipToBytes(name.value));
      if (!/^[\x21-\x7e]+$/.test(name.value)) {
        throw new FormatsError('ERR_FORMATS_ENCODE', 'A DNS subjectAltName must be printable ASCII.');
      }
      return der(0x82, Buffer.from(name.value, 'ascii'));
    }),
  );
}

/** Builds and signs an X.509 v3 certificate (RFC 5280 §4.1). */
export function issueCertificate(options: IssueCertificateOptions): Buffer {
  const alg = signatureAlgorithm(options.signingKey);
  const algId = derSequence(derOid(alg.oid), ...alg.params);
  const spki = options.subjectPublicKey.export({ type: 'spki', format: 'der' });
  const keyUsage = options.isCa
    ? derBitString(Uint8Array.of(0x06)) // keyCertSign | cRLSign
    : derBitString(Uint8Array.of(0x80)); // digitalSignature
  const constraints = options.isCa
    ? derSequence(derBoolean(true), ...(options.pathLength === undefined ? [] : [derInteger(options.pathLength)]))
    : derSequence();
  const eku = options.extendedKeyUsage ?? [];
  const altNames = options.subjectAltNames ?? [];
  const extensions = [
    extension(OID.basicConstraints, true, constraints),
    extension(OID.keyUsage, true, keyUsage),
    extension(OID.subjectKeyIdentifier, false, derOctets(keyIdentifier(options.subjectPublicKey))),
    ...(options.authorityKeyId === undefined
      ? []
      : [extension(OID.authorityKeyIdentifier, false, derSequence(der(0x80, options.authorityKeyId)))]),
    ...(eku.length === 0 ? [] : [extension(OID.extendedKeyUsage, false, derSequence(...eku.map(derOid)))]),
    ...(altNames.length === 0 ? [] : [extension(OID.subjectAltName, false, encodeAltNames(altNames))]),
    ...(options.extraExtensions ?? []).map((e) => extension(e.oid, e.critical, e.value)),
  ];
  const tbs = derSequence(
    derExplicit(0, derInteger(2)),
    derInteger(options.serial),
    algId,
    options.issuer,
    derSequence(derTime(options.notBefore), derTime(options.notAfter)),
    options.subject,
    spki,
    derExplicit(3, derSequence(...extensions)),
  );
  const signature = sign(alg.hash, tbs, options.signingKey);
  return derSequence(tbs, algId, derBitString(signature));
}

/** The subjectKeyIdentifier of a certificate, when it has one. */
export function readSubjectKeyId(certDer: Uint8Array): Uint8Array | undefined {
  const ext = readExtensions(certDer).get(OID.subjectKeyIdentifier);
  return ext === undefined ? undefined : expectTag(parseDer(ext.value), TAG.OCTET_STRING, 'keyIdentifier').value;
}

/** The DNS names and IP addresses of a certificate's subjectAltName; other name forms are skipped. */
export function readSubjectAltNames(certDer: Uint8Array): SubjectAltName[] {
  const ext = readExtensions(certDer).get(OID.subjectAltName);
  if (ext === undefined) return [];
  const out: SubjectAltName[] = [];
  for (const name of readChildren(expectTag(parseDer(ext.value), TAG.SEQUENCE, 'GeneralNames'))) {
    if (name.tag === 0x82) out.push({ type: 'dns', value: Buffer.from(name.value).toString('latin1') });
    if (name.tag === 0x87) out.push({ type: 'ip', value: ipFromBytes(name.value) });
  }
  return out;
}

/** An IPv4 or IPv6 address in its 4 or 16 network-order bytes. */
export function ipToBytes(text: string): Buffer {
  const version = isIP(text);
  if (version === 4) return Buffer.from(text.split('.').map(Number));
  if (version !== 6 || text.includes('%')) {
    throw new FormatsError('ERR_FORMATS_ENCODE', `'${text.slice(0, 64)}' is not an IPv4 or IPv6 address without zone.`);
  }
  // An embedded IPv4 tail (`::ffff:10.0.0.1`, RFC 4291 §2.2) is the last two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const v6 =
    dotted === null
      ? text
      : `${dotted[1]}${ipToBytes(dotted[2]!)
          .toString('hex')
          .replace(/^(.{4})/, '$1:')}`;
  const [head = '', tail] = v6.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const middle = new Array<string>(8 - left.length - right.length).fill('0');
  const out = Buffer.alloc(16);
  for (const [i, group] of [...left, ...middle, ...right].entries())
    out.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  return out;
}

/** The text form of 4 or 16 address bytes (IPv6 without zero compression, as `ipToBytes` reads back). */
export function ipFromBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return Buffer.from(bytes).toString('hex');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** PEM armour of DER bytes (RFC 7468), 64 characters a line. */
export function toPem(label: string, derBytes: Uint8Array): string {
  const b64 = Buffer.from(derBytes)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
