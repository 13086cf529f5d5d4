// Intel PCK certificates: chains to the pinned Intel SGX Root CA, CRLs, and the SGX extensions (FMSPC, TCB).
import { X509Certificate, createHash } from 'node:crypto';
import {
  type DerNode,
  DER_TAG as TAG,
  parseDer,
  readChildren,
  readExtensions,
  toBigInt,
  toOid,
} from '@sealroom/formats';
import { AttestError } from '../errors.ts';
import { splitPemCertificates } from '../sev-snp/certs.ts';
import { readEvidenceDer } from '../x509/ak-chain.ts';
import { crlSignedBy, normalizeSerial, parseCrl } from '../x509/crl.ts';

/** SHA-256 of the DER of the Intel SGX Root CA (ECDSA P-256, valid 2018-05-21 to 2049-12-31). */
export const INTEL_SGX_ROOT_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

/** Subject names of the leaves Intel's chains end in. */
export const INTEL_LEAF = { pck: 'Intel SGX PCK Certificate', tcbSigning: 'Intel SGX TCB Signing' } as const;

export interface IntelChainOptions {
  readonly at: Date;
  /** Extra trusted roots (DER) beyond the pinned Intel SGX Root CA. */
  readonly trustedRoots?: readonly Uint8Array[];
}

function chainFail(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_CHAIN', `Intel chain: ${message}.`);
}

const sha256 = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const validAt = (cert: X509Certificate, at: Date): boolean => cert.validFromDate <= at && at <= cert.validToDate;

/**
 * Chains already verified, by the exact PEM, leaf role and trusted roots: a platform sends the same PCK chain
 * with every quote. A hit still checks the time against the window all its certificates share.
 */
const CHAIN_CACHE_MAX = 1024;
const chainCache = new Map<string, { certs: X509Certificate[]; notBefore: number; notAfter: number }>();

/**
 * Verifies a chain given leaf first and root last (as Intel sends it): each certificate is signed by the next
 * and valid at `at`, every issuer is a CA, and the last is a self-signed root whose fingerprint is pinned or
 * trusted. Returns the parsed certificates.
 */
export function verifyIntelChain(
  pem: string,
  what: string,
  leafNames: readonly string[],
  options: IntelChainOptions,
): X509Certificate[] {
  const keyHash = createHash('sha256')
    .update(pem)
    .update(`\0${leafNames.join('\0')}`);
  for (const der of options.trustedRoots ?? []) keyHash.update('\0r').update(der);
  const key = keyHash.digest('base64');
  const at = options.at.getTime();
  const cached = chainCache.get(key);
  if (cached !== undefined && cached.notBefore <= at && at <= cached.notAfter) return cached.certs;
  const ders = splitPemCertificates(pem);
  if (ders.length < 2 || ders.length > 3) chainFail(`the ${what} has ${ders.length} certificates`);
  const certs = ders.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (error) {
      throw new AttestError('ERR_ATTEST_TDX_CHAIN', `Intel chain: certificate ${i} of the ${what} does not parse.`, {
        cause: error,
      });
    }
  });
  const trusted = new Set([INTEL_SGX_ROOT_SHA256, ...(options.trustedRoots ?? []).map(sha256)]);
  // The leaf must be the kind of certificate the chain is for: a shorter chain (a CA in the leaf's place) or a
  // certificate of another role is refused here, not later by a signature that happens not to verify.
  const leafName =
    certs[0]!.subject
      .split('\n')
      .find((l) => l.startsWith('CN='))
      ?.slice(3) ?? '';
  if (!leafNames.includes(leafName)) chainFail(`the ${what} starts with "${leafName.slice(0, 40)}"`);
  const root = certs.at(-1)!;
  if (!trusted.has(sha256(ders.at(-1)!))) chainFail(`the root of the ${what} is not a pinned or trusted Intel root`);
  if (!(root.checkIssued(root) && root.verify(root.publicKey))) chainFail(`the root of the ${what} is not self-signed`);
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!;
    if (!validAt(cert, options.at)) chainFail(`certificate ${i} of the ${what} is not valid at the verification time`);
    if (i === certs.length - 1) break;
    const issuer = certs[i + 1]!;
    if (!issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      chainFail(`certificate ${i} of the ${what} is not signed by the next one`);
    }
  }
  if (chainCache.size >= CHAIN_CACHE_MAX) chainCache.delete(chainCache.keys().next().value!);
  chainCache.set(key, {
    certs,
    notBefore: Math.max(...certs.map((c) => c.validFromDate.getTime())),
    notAfter: Math.min(...certs.map((c) => c.validToDate.getTime())),
  });
  return certs;
}

/**
 * Refuses a chain any of whose certificates a CRL of its issuer lists; CRLs of other issuers are skipped.
 * Returns the latest thisUpdate/nextUpdate of the CRLs that applied.
 */
export function checkIntelRevocation(
  chain: readonly X509Certificate[],
  crls: readonly Uint8Array[],
  at: Date,
): Array<{ issuer: string; thisUpdate: Date; nextUpdate?: Date }> {
  const used: Array<{ issuer: string; thisUpdate: Date; nextUpdate?: Date }> = [];
  for (const input of crls) {
    const crl = parseCrl(input);
    for (let i = 0; i + 1 < chain.length; i++) {
      const issuer = chain[i + 1]!;
      if (!crlSignedBy(crl, issuer) || crl.thisUpdate > at) continue;
      if (crl.revoked.has(normalizeSerial(chain[i]!.serialNumber))) {
        throw new AttestError('ERR_ATTEST_TDX_REVOKED', `Certificate ${i} of the PCK chain is revoked.`);
      }
      const name =
        issuer.subject
          .split('\n')
          .find((l) => l.startsWith('CN='))
          ?.slice(3) ?? '';
      used.push({
        issuer: name,
        thisUpdate: crl.thisUpdate,
        ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
      });
    }
  }
  return used;
}

/** What a PCK certificate says about its platform (Intel SGX PCK Certificate and CRL Profile, SGX extensions). */
export interface PckExtensions {
  readonly fmspc: Buffer;
  readonly pceId: Buffer;
  /** SGX TCB components 1–16. */
  readonly sgxTcb: readonly number[];
  readonly pceSvn: number;
  readonly cpuSvn: Buffer;
}

const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';

function collateralFail(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_COLLATERAL', `PCK certificate: ${message}.`);
}

export function readPckExtensions(cert: X509Certificate): PckExtensions {
  return readEvidenceDer(() => readSgxExtensions(cert));
}

function readSgxExtensions(cert: X509Certificate): PckExtensions {
  const ext = readExtensions(cert.raw).get(SGX_EXTENSIONS_OID);
  if (ext === undefined) collateralFail('no SGX extensions');
  const fields = new Map<string, DerNode>();
  for (const entry of readChildren(parseDer(ext.value))) {
    const [oid, value] = readChildren(entry);
    if (oid === undefined || value === undefined) collateralFail('bad SGX extension entry');
    fields.set(toOid(oid), value);
  }
  const octets = (suffix: string, size: number): Buffer => {
    const node = fields.get(`${SGX_EXTENSIONS_OID}.${suffix}`);
    if (node?.tag !== TAG.OCTET_STRING || node.value.length !== size) collateralFail(`bad SGX extension .${suffix}`);
    return Buffer.from(node.value);
  };
  const tcbNode = fields.get(`${SGX_EXTENSIONS_OID}.2`);
  if (tcbNode?.tag !== TAG.SEQUENCE) collateralFail('no TCB in the SGX extensions');
  const tcb = new Map<string, DerNode>();
  for (const entry of readChildren(tcbNode)) {
    const [oid, value] = readChildren(entry);
    if (oid === undefined || value === undefined) collateralFail('bad TCB entry');
    tcb.set(toOid(oid), value);
  }
  const component = (n: number): number => {
    const node = tcb.get(`${SGX_EXTENSIONS_OID}.2.${n}`);
    if (node?.tag !== TAG.INTEGER) return collateralFail(`no TCB component ${n}`);
    const value = toBigInt(node);
    if (value < 0n || value > 65535n) collateralFail(`TCB component ${n} is out of range`);
    return Number(value);
  };
  const cpuSvn = tcb.get(`${SGX_EXTENSIONS_OID}.2.18`);
  if (cpuSvn?.tag !== TAG.OCTET_STRING || cpuSvn.value.length !== 16) collateralFail('bad CPUSVN');
  return {
    fmspc: octets('4', 6),
    pceId: octets('3', 2),
    sgxTcb: Array.from({ length: 16 }, (_, i) => component(i + 1)),
    pceSvn: component(17),
    cpuSvn: Buffer.from(cpuSvn.value),
  };
}
