// Signing keys of token issuers: a provider's inline JWKS, or OIDC discovery + JWKS, cached and refreshed on unknown kid.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Clock } from '@sealroom/core';
import { allowsHttp, describeTarget, type OutboundClient, OutboundError } from '@sealroom/outbound';
import type { JWK } from 'jose';
import { FederationError } from './errors.ts';
import { issuerUriProblem } from './issuer-uri.ts';
import { normaliseIssuer } from './names.ts';

export const JWKS_CACHE_TTL_MS = 60 * 60 * 1000;
/** An unknown kid refetches the JWKS at most this often per issuer, so forged kids cannot flood the issuer. */
export const JWKS_MIN_REFRESH_INTERVAL_MS = 30 * 1000;
/** Each of discovery and JWKS must arrive whole within this time, or the exchange is refused. */
export const ISSUER_FETCH_TIMEOUT_MS = 5000;
/**
 * After a failed fetch, exchanges naming the issuer are refused with the same error for this long
 * without fetching again: the STS is unauthenticated, so without it every request could make the
 * server fetch an issuer that is down, slow or someone else's target.
 */
export const ISSUER_FAILURE_BACKOFF_MS = 10 * 1000;
/** Larger discovery documents or JWKS are cut off at this size. */
export const ISSUER_DOCUMENT_MAX_BYTES = 256 * 1024;
/**
 * All an STS caller learns when the issuer's keys cannot be had: no URL, status, address or response
 * text (they would make the server an oracle for whoever registers the issuer). The reason goes to
 * the pool owner's audit log as `issuerFetch`.
 */
export const ISSUER_UNAVAILABLE_MESSAGE =
  "The token's issuer is unavailable: its discovery document or signing keys could not be retrieved.";

export interface IssuerKeysOptions {
  readonly clock: Clock;
  /** The deployment's outbound client; its policy decides which issuers can be reached. */
  readonly outbound: OutboundClient;
}

export interface IssuerKeys {
  /**
   * The verification key for `kid`; throws ERR_FEDERATION_TOKEN_KID, or ERR_FEDERATION_DISCOVERY /
   * ERR_FEDERATION_ISSUER_UNAVAILABLE with the generic message and the reason in `auditDetail`.
   */
  keyFor(issuerUri: string, kid: string, alg: string, jwksJson?: string): Promise<KeyObject>;
}

interface CachedJwks {
  readonly keys: readonly JWK[];
  readonly fetchedAt: number;
  /** Keys imported from `keys`, by `kid|alg`: they go when the document they came from is replaced. */
  readonly imported: Map<string, KeyObject>;
}

/** Inline JWKS documents (a provider's `oidc.jwksJson`) kept parsed and imported, by their text. */
const INLINE_CACHE_LIMIT = 256;
/** RFC 7518 §3.3: RS256 keys of 2048 bits or more. */
const MIN_RSA_BITS = 2048;

export function createIssuerKeys(options: IssuerKeysOptions): IssuerKeys {
  const cache = new Map<string, CachedJwks>();
  const inflight = new Map<string, Promise<CachedJwks>>();
  const failures = new Map<string, { readonly error: unknown; readonly at: number }>();
  const inline = new Map<string, CachedJwks>();

  const refresh = (issuer: string): Promise<CachedJwks> => {
    const failed = failures.get(issuer);
    if (failed && options.clock.now() - failed.at < ISSUER_FAILURE_BACKOFF_MS) return Promise.reject(failed.error);
    let pending = inflight.get(issuer);
    if (!pending) {
      pending = fetchJwks(options.outbound, issuer)
        .then(
          (keys) => {
            const entry: CachedJwks = { keys, fetchedAt: options.clock.now(), imported: new Map() };
            cache.set(issuer, entry);
            failures.delete(issuer);
            return entry;
          },
          (error: unknown) => {
            failures.set(issuer, { error, at: options.clock.now() });
            throw error;
          },
        )
        .finally(() => inflight.delete(issuer));
      inflight.set(issuer, pending);
    }
    return pending;
  };

  /** The key for `kid` in a document as a KeyObject, imported once per document (importing costs more than verifying). */
  const importKey = (entry: CachedJwks, jwk: JWK, alg: string): KeyObject => {
    const cacheKey = `${jwk.kid}|${alg}`;
    let key = entry.imported.get(cacheKey);
    if (!key) {
      key = toVerificationKey(jwk, alg);
      entry.imported.set(cacheKey, key);
    }
    return key;
  };

  const inlineEntry = (jwksJson: string): CachedJwks => {
    let entry = inline.get(jwksJson);
    if (!entry) {
      entry = { keys: parseJwks(jwksJson), fetchedAt: 0, imported: new Map() };
      if (inline.size >= INLINE_CACHE_LIMIT) inline.clear();
      inline.set(jwksJson, entry);
    }
    return entry;
  };

  return {
    async keyFor(issuerUri, keyId, alg, jwksJson) {
      const issuer = normaliseIssuer(issuerUri);
      if (jwksJson !== undefined && jwksJson !== '') {
        const entry = inlineEntry(jwksJson);
        const jwk = entry.keys.find((k) => k.kid === keyId);
        if (!jwk) throw unknownKid(keyId);
        return importKey(entry, jwk, alg);
      }
      const now = options.clock.now();
      let entry = cache.get(issuer);
      if (!entry || now - entry.fetchedAt > JWKS_CACHE_TTL_MS) entry = await refresh(issuer);
      let jwk = entry.keys.find((k) => k.kid === keyId);
      if (!jwk && now - entry.fetchedAt >= JWKS_MIN_REFRESH_INTERVAL_MS) {
        entry = await refresh(issuer);
        jwk = entry.keys.find((k) => k.kid === keyId);
      }
      if (!jwk) throw unknownKid(keyId);
      return importKey(entry, jwk, alg);
    },
  };
}

function kid(jwk: JWK): string {
  return typeof jwk.kid === 'string' ? jwk.kid : '';
}

/**
 * A JWK as a public KeyObject that can check `alg` signatures: RS256 needs an RSA key of 2048 bits or more,
 * ES256 a P-256 key (RFC 7518 §3.3, §3.4); a key that says it is for another `alg` is refused.
 */
function toVerificationKey(jwk: JWK, alg: string): KeyObject {
  const refuse = (cause?: unknown) =>
    new FederationError(
      'ERR_FEDERATION_TOKEN_KID',
      `The key '${kid(jwk).slice(0, 128)}' cannot verify ${alg} signatures.`,
      cause === undefined ? {} : { cause },
    );
  if (typeof jwk.alg === 'string' && jwk.alg !== alg) throw refuse();
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse();
  let key: KeyObject;
  try {
    // Only the public members: parseJwks already refused private keys.
    const members =
      jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    key = createPublicKey({ key: members as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw refuse(error);
  }
  const details = key.asymmetricKeyDetails;
  const fits =
    alg === 'RS256'
      ? key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= MIN_RSA_BITS
      : alg === 'ES256' && key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (!fits) throw refuse();
  return key;
}

function unknownKid(keyId: string): FederationError {
  return new FederationError('ERR_FEDERATION_TOKEN_KID', `The issuer has no key with kid '${keyId.slice(0, 128)}'.`);
}

/** Parses a JWKS document, keeping RSA and EC public keys only (WIF accepts no others). */
export function parseJwks(text: string): JWK[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', 'The JWKS is not valid JSON.', { cause: error });
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new FederationError('ERR_FEDERATION_DISCOVERY', 'The JWKS has no "keys" array.');
  return keys.filter(
    (k): k is JWK =>
      typeof k === 'object' &&
      k !== null &&
      (k.kty === 'RSA' || k.kty === 'EC') &&
      !('d' in k) &&
      typeof k.kid === 'string',
  );
}

/** Discovery, then the JWKS it names, each through the outbound client under the deployment's policy. */
async function fetchJwks(outbound: OutboundClient, issuer: string): Promise<JWK[]> {
  // Checked again here: a provider stored before the rules, or under a wider policy, must not be fetched.
  const problem = issuerUriProblem(issuer, (url) => allowsHttp(url, outbound.policy));
  if (problem) throw unavailable(issuer, 'ISSUER_URI_INVALID', `oidc.issuerUri ${problem}.`);
  const discovery = await fetchJson(outbound, `${issuer}/.well-known/openid-configuration`);
  const jwksUri = (discovery.document as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof jwksUri !== 'string') {
    throw unavailable(discovery.url, 'NO_JWKS_URI', 'The discovery document has no jwks_uri string.');
  }
  const announced = (discovery.document as { issuer?: unknown }).issuer;
  if (typeof announced === 'string' && normaliseIssuer(announced) !== issuer) {
    throw unavailable(discovery.url, 'ISSUER_MISMATCH', 'The discovery document names another issuer.');
  }
  const jwks = await fetchJson(outbound, jwksUri);
  try {
    return parseJwks(JSON.stringify(jwks.document));
  } catch (error) {
    throw unavailable(jwks.url, 'BAD_JWKS', error instanceof Error ? error.message : 'The JWKS is not usable.');
  }
}

async function fetchJson(outbound: OutboundClient, url: string): Promise<{ url: string; document: unknown }> {
  let response: Awaited<ReturnType<OutboundClient['get']>>;
  try {
    response = await outbound.get(url, {
      headers: { accept: 'application/json' },
      timeoutMs: ISSUER_FETCH_TIMEOUT_MS,
      maxBodyBytes: ISSUER_DOCUMENT_MAX_BYTES,
    });
  } catch (error) {
    if (error instanceof OutboundError) throw unavailable(url, error.code, error.message, error.retryable, error);
    throw unavailable(url, 'FETCH_FAILED', 'The request failed.', true, error);
  }
  if (response.status < 200 || response.status > 299) {
    throw unavailable(
      url,
      `HTTP_${response.status}`,
      `The issuer answered ${response.status}.`,
      response.status >= 500,
    );
  }
  try {
    return { url, document: JSON.parse(response.body.toString('utf8')) };
  } catch (error) {
    throw unavailable(url, 'NOT_JSON', 'The document is not JSON.', false, error);
  }
}

/** The generic refusal an STS caller sees, carrying the reason for the pool owner's audit log. */
function unavailable(
  url: string,
  reason: string,
  message: string,
  retryable = false,
  cause?: unknown,
): FederationError {
  return new FederationError(
    retryable ? 'ERR_FEDERATION_ISSUER_UNAVAILABLE' : 'ERR_FEDERATION_DISCOVERY',
    ISSUER_UNAVAILABLE_MESSAGE,
    {
      ...(cause === undefined ? {} : { cause }),
      auditDetail: { url: describeTarget(url), reason, message: message.slice(0, 300) },
    },
  );
}
