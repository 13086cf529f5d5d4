// Certificate path validation: leaf → intermediates → a trusted root, signatures, validity windows and CA flags.
import { createHash, X509Certificate } from 'node:crypto';
import { FormatsError } from '../errors.ts';

export interface VerifyChainOptions {
  readonly intermediates: readonly Uint8Array[];
  readonly roots: readonly Uint8Array[];
  readonly at: Date;
  /** What the leaf is, for messages ("AK certificate"); "leaf certificate" by default. */
  readonly leafName?: string;
}

export interface VerifiedChain {
  readonly leaf: X509Certificate;
  /** The trusted root the chain ends at (its DER). */
  readonly root: Uint8Array;
}

function chainError(message: string, cause?: unknown): FormatsError {
  return new FormatsError('ERR_FORMATS_CERT_CHAIN', message, cause === undefined ? {} : { cause });
}

function parseCert(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw chainError(`The ${what} is not a valid X.509 certificate.`, error);
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
 * Throws ERR_FORMATS_CERT_CHAIN when no such path exists.
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
  const leafName = options.leafName ?? 'leaf certificate';
  const leaf = parseCert(leafDer, leafName);
  const intermediates = options.intermediates.map((der, i) => parseCached(der, `intermediate certificate ${i}`));
  const roots = options.roots.map((der) => ({ der, cert: parseCached(der, 'trusted root') }));
  if (!validAt(leaf, options.at)) throw chainError(`The ${leafName} is not valid at the verification time.`);
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
  throw chainError(`The ${leafName} does not chain to a trusted root.`);
}
