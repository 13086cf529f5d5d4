// AMD SEV-SNP key certificates: the pinned AMD roots, the VCEK/VLEK → ASK/ASVK → ARK chain, and the VCEK extensions.
import { X509Certificate, createHash } from 'node:crypto';
import { parseDer, readExtensions, toBigInt } from '@sealroom/formats';
import { AttestError } from '../errors.ts';
import { readEvidenceDer } from '../x509/ak-chain.ts';
import { type CertificateList, crlSignedBy, normalizeSerial, parseCrl } from '../x509/crl.ts';
import { SNP_PRODUCTS, type SnpProduct, type SnpSigningKey } from './report.ts';

/**
 * SHA-256 of the DER of each AMD Root Key (ARK) Sealroom trusts without being told: the public, self-signed
 * ARK of each product. A root whose fingerprint is not here is trusted only when the operator passes it.
 * Milan: the ARK-Milan AMD's key distribution service serves (RSA-4096, valid 2020-10-22 to 2045-10-22).
 * Genoa and Turin are not pinned yet: their ARK must be given as a trusted root.
 */
export const AMD_ARK_SHA256: Readonly<Partial<Record<SnpProduct, string>>> = {
  Milan: '69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd',
};

/** AMD's arc for SEV certificate extensions (1.3.6.1.4.1.3704 is AMD's enterprise number). */
const AMD_OID = {
  productName: '1.3.6.1.4.1.3704.1.2',
  bootloader: '1.3.6.1.4.1.3704.1.3.1',
  tee: '1.3.6.1.4.1.3704.1.3.2',
  snp: '1.3.6.1.4.1.3704.1.3.3',
  microcode: '1.3.6.1.4.1.3704.1.3.8',
  fmc: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
} as const;

/** What a VCEK or VLEK certifies about the chip and firmware it was issued for. */
export interface SnpKeyCertificate {
  readonly kind: Exclude<SnpSigningKey, 'NONE'>;
  readonly cert: X509Certificate;
  /** The productName extension, e.g. `Milan-B0` (product and stepping); absent from some VLEKs. */
  readonly productName?: string;
  readonly tcb: { bootloader?: number; tee?: number; snp?: number; microcode?: number; fmc?: number };
  /**
   * VCEK only: the chip's hardware ID, stored raw (no OCTET STRING inside the extension value): 64 bytes, or
   * 8 on Turin, whose report carries it in the first 8 bytes of chip_id.
   */
  readonly hwId?: Buffer;
}

function chainFail(message: string): never {
  throw new AttestError('ERR_ATTEST_SNP_CHAIN', `SEV-SNP chain: ${message}.`);
}

export function parseCertificate(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new AttestError('ERR_ATTEST_SNP_CHAIN', `SEV-SNP chain: the ${what} is not an X.509 certificate.`, {
      cause: error,
    });
  }
}

export function commonName(cert: X509Certificate): string {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line === undefined ? '' : line.slice(3);
}

/** The kind of a leaf certificate, told by its subject name (AMD names them `SEV-VCEK` and `SEV-VLEK`). */
export function leafKind(cert: X509Certificate): SnpKeyCertificate['kind'] {
  const cn = commonName(cert);
  if (cn === 'SEV-VCEK') return 'VCEK';
  if (cn === 'SEV-VLEK') return 'VLEK';
  return chainFail(`the leaf certificate is "${cn.slice(0, 40)}", not a VCEK or VLEK`);
}

/**
 * Reads the VCEK/VLEK extensions; each TCB component is a DER INTEGER in its extension value. Call it on a
 * certificate whose chain was verified: what it reads is only as good as the signature over it.
 */
export function readSnpKeyCertificate(der: Uint8Array, parsed?: X509Certificate): SnpKeyCertificate {
  return readEvidenceDer(() => readKeyCertificate(der, parsed));
}

function readKeyCertificate(der: Uint8Array, parsed?: X509Certificate): SnpKeyCertificate {
  const cert = parsed ?? parseCertificate(der, 'VCEK or VLEK');
  const kind = leafKind(cert);
  const extensions = readExtensions(der);
  const integer = (oid: string): number | undefined => {
    const ext = extensions.get(oid);
    if (ext === undefined) return undefined;
    const value = toBigInt(parseDer(ext.value));
    if (value < 0n || value > 255n) chainFail(`TCB extension ${oid} is out of range`);
    return Number(value);
  };
  const nameExt = extensions.get(AMD_OID.productName);
  const name = nameExt === undefined ? undefined : parseDer(nameExt.value);
  const hwId = extensions.get(AMD_OID.hwId)?.value;
  const tcb: SnpKeyCertificate['tcb'] = {};
  for (const field of ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const) {
    const value = integer(AMD_OID[field]);
    if (value !== undefined) tcb[field] = value;
  }
  return {
    kind,
    cert,
    ...(name !== undefined && name.tag === 0x16 ? { productName: Buffer.from(name.value).toString('latin1') } : {}),
    tcb,
    ...(hwId !== undefined && (hwId.length === 64 || hwId.length === 8) ? { hwId: Buffer.from(hwId) } : {}),
  };
}

export interface SnpChainOptions {
  readonly at: Date;
  /** Extra trusted ARKs (DER), beyond the pinned ones: other products or a deployment's own. */
  readonly trustedRoots?: readonly Uint8Array[];
  /** AMD CRLs (DER or PEM) signed by an ARK; a CRL of the chain's ARK must list neither the ASK nor the ASVK. */
  readonly crls?: readonly Uint8Array[];
}

export interface VerifiedSnpChain {
  readonly product: SnpProduct;
  readonly arkSha256: string;
  /** The CRL of the chain's ARK that was checked, if one was given. */
  readonly crl?: { readonly thisUpdate: Date; readonly nextUpdate?: Date };
}

const validAt = (cert: X509Certificate, at: Date): boolean => cert.validFromDate <= at && at <= cert.validToDate;

function sha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/**
 * Chains already verified, by the exact bytes verified: a host's VCEK and AMD's ASK/ARK are the same on every
 * report, so the RSA-PSS signatures are checked once. A hit still checks the time against the window every
 * certificate of the path shares, and revocation is checked on every call.
 */
const CHAIN_CACHE_MAX = 1024;
const chainCache = new Map<
  string,
  {
    product: SnpProduct;
    arkSha256: string;
    ark: X509Certificate;
    intermediate: X509Certificate;
    notBefore: number;
    notAfter: number;
  }
>();

function chainKey(
  leaf: Pick<SnpKeyCertificate, 'kind' | 'cert'>,
  certificates: readonly Uint8Array[],
  roots: readonly Uint8Array[],
): string {
  const h = createHash('sha256').update(leaf.kind).update(leaf.cert.raw);
  for (const der of certificates) h.update('\0c').update(der);
  for (const der of roots) h.update('\0r').update(der);
  return h.digest('base64');
}

/**
 * Verifies leaf → ASK (VCEK) or ASVK (VLEK) → ARK at `options.at`. The ARK must be self-signed, named
 * `ARK-<product>` and either pinned or among the trusted roots; the intermediate must be named
 * `SEV-<product>` (ASK) or `SEV-VLEK-<product>` (ASVK), so a VLEK cannot pass through an ASK or the reverse.
 */
export function verifySnpChain(
  leaf: Pick<SnpKeyCertificate, 'kind' | 'cert'>,
  certificates: readonly Uint8Array[],
  options: SnpChainOptions,
): VerifiedSnpChain {
  const key = chainKey(leaf, certificates, options.trustedRoots ?? []);
  const at = options.at.getTime();
  const cached = chainCache.get(key);
  if (cached !== undefined && cached.notBefore <= at && at <= cached.notAfter) {
    const crl = checkRevocation(cached.ark, [cached.intermediate], options);
    return { product: cached.product, arkSha256: cached.arkSha256, ...(crl === undefined ? {} : { crl }) };
  }
  const pool = certificates.map((der, i) => ({ der, cert: parseCertificate(der, `certificate ${i}`) }));
  const trusted = new Set([...Object.values(AMD_ARK_SHA256), ...(options.trustedRoots ?? []).map(sha256)]);
  for (const [i, der] of (options.trustedRoots ?? []).entries())
    pool.push({ der, cert: parseCertificate(der, `trusted root ${i}`) });
  if (!validAt(leaf.cert, options.at)) chainFail(`the ${leaf.kind} is not valid at the verification time`);
  for (const { cert: ark, der: arkDer } of pool) {
    const product = SNP_PRODUCTS.find((p) => commonName(ark) === `ARK-${p}`);
    if (product === undefined || !trusted.has(sha256(arkDer))) continue;
    const intermediateName = leaf.kind === 'VCEK' ? `SEV-${product}` : `SEV-VLEK-${product}`;
    const intermediate = pool.find(
      (c) =>
        commonName(c.cert) === intermediateName && leaf.cert.checkIssued(c.cert) && leaf.cert.verify(c.cert.publicKey),
    );
    if (intermediate === undefined) continue;
    if (!(intermediate.cert.checkIssued(ark) && intermediate.cert.verify(ark.publicKey))) continue;
    if (!(ark.checkIssued(ark) && ark.verify(ark.publicKey))) chainFail(`ARK-${product} is not self-signed`);
    if (!intermediate.cert.ca || !ark.ca) chainFail('an issuer is not a CA');
    if (!validAt(intermediate.cert, options.at) || !validAt(ark, options.at)) {
      chainFail(`${intermediateName} or ARK-${product} is not valid at the verification time`);
    }
    const crl = checkRevocation(ark, [intermediate.cert], options);
    const path = [leaf.cert, intermediate.cert, ark];
    if (chainCache.size >= CHAIN_CACHE_MAX) chainCache.delete(chainCache.keys().next().value!);
    chainCache.set(key, {
      product,
      arkSha256: sha256(arkDer),
      ark,
      intermediate: intermediate.cert,
      notBefore: Math.max(...path.map((c) => c.validFromDate.getTime())),
      notAfter: Math.min(...path.map((c) => c.validToDate.getTime())),
    });
    return { product, arkSha256: sha256(arkDer), ...(crl === undefined ? {} : { crl }) };
  }
  return chainFail(`the ${leaf.kind} does not chain to a pinned or trusted AMD root`);
}

function checkRevocation(
  ark: X509Certificate,
  certs: readonly X509Certificate[],
  options: SnpChainOptions,
): VerifiedSnpChain['crl'] {
  let used: CertificateList | undefined;
  for (const input of options.crls ?? []) {
    const crl = parseCrl(input);
    if (!crlSignedBy(crl, ark)) continue;
    if (crl.thisUpdate > options.at) continue;
    for (const cert of certs) {
      if (crl.revoked.has(normalizeSerial(cert.serialNumber))) {
        throw new AttestError('ERR_ATTEST_SNP_REVOKED', `SEV-SNP chain: ${commonName(cert)} is revoked.`);
      }
    }
    if (used === undefined || crl.thisUpdate > used.thisUpdate) used = crl;
  }
  if (used === undefined) return undefined;
  return { thisUpdate: used.thisUpdate, ...(used.nextUpdate === undefined ? {} : { nextUpdate: used.nextUpdate }) };
}

/**
 * The DER of each PEM CERTIFICATE block in `text` (AMD serves ASK and ARK as one PEM file, Intel embeds the PCK
 * chain in a quote). A block with anything but base64 and whitespace inside is dropped, not decoded leniently.
 */
export function splitPemCertificates(text: string): Buffer[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)]
    .filter((m) => /^[A-Za-z0-9+/=\s]*$/.test(m[1]!))
    .map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}
