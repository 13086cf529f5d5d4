// X.509 for attestation keys: read extensions, issue certificates (platform CA), verify chains to trusted roots.
import { X509Certificate, createHash, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AttestError } from '../errors.ts';
import {
  TAG,
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

/** The extensions of a DER certificate, by OID (RFC 5280 §4.1). */
export function readExtensions(certDer: Uint8Array): Map<string, CertExtension> {
  const cert = expectTag(parseDer(certDer), TAG.SEQUENCE, 'Certificate');
  const tbs = expectTag(readChildren(cert)[0], TAG.SEQUENCE, 'TBSCertificate');
  const out = new Map<string, CertExtension>();
  const wrapper = readChildren(tbs).find((node) => node.tag === 0xa3);
  if (wrapper === undefined) return out;
  const list = expectTag(readChildren(wrapper)[0], TAG.SEQUENCE, 'Extensions');
  for (const ext of readChildren(list)) {
    const parts = readChildren(expectTag(ext, TAG.SEQUENCE, 'Extension'));
    const oid = toOid(expectTag(parts[0], TAG.OID, 'extnID'));
    const critical = parts.length === 3 ? toBoolean(parts[1]!) : false;
    const value = expectTag(parts.at(-1), TAG.OCTET_STRING, 'extnValue').value;
    if (out.has(oid)) throw new AttestError('ERR_ATTEST_MALFORMED_DER', `Certificate repeats extension ${oid}.`);
    out.set(oid, { critical, value });
  }
  return out;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
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

export interface IssueCertificateOptions {
  readonly serial: Uint8Array;
  /** DER Name of the issuer (the subject of the signing certificate). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectPublicKey: KeyObject;
  readonly signingKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
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

/** Builds and signs an X.509 v3 certificate (RFC 5280 §4.1). */
export function issueCertificate(options: IssueCertificateOptions): Buffer {
  const alg = signatureAlgorithm(options.signingKey);
  const algId = derSequence(derOid(alg.oid), ...alg.params);
  const spki = options.subjectPublicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha1').update(spki).digest();
  const keyUsage = options.isCa
    ? derBitString(Uint8Array.of(0x06)) // keyCertSign | cRLSign
    : derBitString(Uint8Array.of(0x80)); // digitalSignature
  const extensions = [
    extension(OID.basicConstraints, true, options.isCa ? derSequence(derBoolean(true)) : derSequence()),
    extension(OID.keyUsage, true, keyUsage),
    extension(OID.subjectKeyIdentifier, false, derOctets(keyId)),
    ...(options.isCa ? [] : [extension(OID.extendedKeyUsage, false, derSequence(derOid(OID.tcgKpAikCertificate)))]),
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

export interface VerifyChainOptions {
  readonly intermediates: readonly Uint8Array[];
  readonly roots: readonly Uint8Array[];
  readonly at: Date;
}

export interface VerifiedChain {
  readonly leaf: X509Certificate;
  /** The trusted root the chain ends at (its DER). */
  readonly root: Uint8Array;
}

function parseCert(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new AttestError('ERR_ATTEST_CERT_CHAIN', `The ${what} is not a valid X.509 certificate.`, { cause: error });
  }
}

/** Trusted roots and configured intermediates are the same objects on every call: parse each once. */
const parsedCache = new WeakMap<Uint8Array, X509Certificate>();

function parseCached(der: Uint8Array, what: string): X509Certificate {
  let cert = parsedCache.get(der);
  if (cert === undefined) {
    cert = parseCert(der, what);
    parsedCache.set(der, cert);
  }
  return cert;
}

function validAt(cert: X509Certificate, at: Date): boolean {
  return cert.validFromDate <= at && at <= cert.validToDate;
}

const MAX_CHAIN_DEPTH = 5;

/**
 * Results of full path validations, keyed by the exact bytes validated: an instance re-attests with the
 * same AK certificate for its whole boot (token refreshes, custom tokens), so the path is built once.
 * A hit still checks the time against the validity window shared by every certificate on the path.
 */
const CHAIN_CACHE_MAX = 4096;
const chainCache = new Map<string, VerifiedChain & { readonly notBefore: number; readonly notAfter: number }>();

function chainKey(leafDer: Uint8Array, options: VerifyChainOptions): string {
  const h = createHash('sha256').update(leafDer);
  for (const der of options.intermediates) h.update('\0i').update(der);
  for (const der of options.roots) h.update('\0r').update(der);
  return h.digest('base64');
}

/**
 * Builds a path leaf → intermediates → a trusted root, checking each signature, each validity window at
 * `at`, and that every issuer is a CA. Roots are trusted as given (no self-signature check needed).
 */
export function verifyCertificateChain(leafDer: Uint8Array, options: VerifyChainOptions): VerifiedChain {
  const key = chainKey(leafDer, options);
  const at = options.at.getTime();
  const cached = chainCache.get(key);
  if (cached !== undefined && cached.notBefore <= at && at <= cached.notAfter) {
    return { leaf: cached.leaf, root: cached.root };
  }
  const { chain, path } = buildChain(leafDer, options);
  const notBefore = Math.max(...path.map((c) => c.validFromDate.getTime()));
  const notAfter = Math.min(...path.map((c) => c.validToDate.getTime()));
  if (chainCache.size >= CHAIN_CACHE_MAX) chainCache.delete(chainCache.keys().next().value!);
  chainCache.set(key, { ...chain, notBefore, notAfter });
  return chain;
}

function buildChain(
  leafDer: Uint8Array,
  options: VerifyChainOptions,
): { chain: VerifiedChain; path: X509Certificate[] } {
  const leaf = parseCert(leafDer, 'AK certificate');
  const intermediates = options.intermediates.map((der, i) => parseCached(der, `intermediate certificate ${i}`));
  const roots = options.roots.map((der) => ({ der, cert: parseCached(der, 'trusted root') }));
  if (!validAt(leaf, options.at)) {
    throw new AttestError('ERR_ATTEST_CERT_CHAIN', 'The AK certificate is not valid at the verification time.');
  }
  const signedBy = (child: X509Certificate, issuer: X509Certificate): boolean =>
    issuer.ca && child.checkIssued(issuer) && child.verify(issuer.publicKey) && validAt(issuer, options.at);
  let current = leaf;
  const path = [leaf];
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const root = roots.find((r) => signedBy(current, r.cert));
    if (root !== undefined) return { chain: { leaf, root: root.der }, path: [...path, root.cert] };
    const next = intermediates.find((c) => c !== current && signedBy(current, c));
    if (next === undefined) break;
    current = next;
    path.push(next);
  }
  throw new AttestError('ERR_ATTEST_CERT_CHAIN', 'The AK certificate does not chain to a trusted platform root.');
}
