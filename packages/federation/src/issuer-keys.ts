// Signing keys of token issuers: a provider's inline JWKS, or OIDC discovery + JWKS, cached and refreshed on unknown kid.
import type { Clock } from '@sealroom/core';
import { type CryptoKey, type JWK, importJWK } from 'jose';
import { FederationError } from './errors.ts';
import { normaliseIssuer } from './names.ts';

export const JWKS_CACHE_TTL_MS = 60 * 60 * 1000;
/** An unknown kid refetches the JWKS at most this often per issuer, so forged kids cannot flood the issuer. */
export const JWKS_MIN_REFRESH_INTERVAL_MS = 30 * 1000;
const FETCH_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 256 * 1024;

export interface IssuerKeysOptions {
  readonly clock: Clock;
  /** Injected for tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export interface IssuerKeys {
  /** The verification key for `kid`; throws ERR_FEDERATION_TOKEN_KID or ERR_FEDERATION_DISCOVERY. */
  keyFor(issuerUri: string, kid: string, alg: string, jwksJson?: string): Promise<CryptoKey>;
}

interface CachedJwks {
  readonly keys: readonly JWK[];
  readonly fetchedAt: number;
}

export function createIssuerKeys(options: IssuerKeysOptions): IssuerKeys {
  const doFetch = options.fetch ?? fetch;
  const cache = new Map<string, CachedJwks>();
  const inflight = new Map<string, Promise<CachedJwks>>();
  const imported = new Map<string, Promise<CryptoKey>>();

  const refresh = (issuer: string): Promise<CachedJwks> => {
    let pending = inflight.get(issuer);
    if (!pending) {
      pending = fetchJwks(doFetch, issuer)
        .then((keys) => {
          const entry = { keys, fetchedAt: options.clock.now() };
          cache.set(issuer, entry);
          return entry;
        })
        .finally(() => inflight.delete(issuer));
      inflight.set(issuer, pending);
    }
    return pending;
  };

  const importKey = (cacheKey: string, jwk: JWK, alg: string): Promise<CryptoKey> => {
    let key = imported.get(cacheKey);
    if (!key) {
      key = importJWK(jwk, alg).then((k) => {
        if (k instanceof Uint8Array) throw new Error('symmetric key');
        return k;
      });
      key.catch(() => imported.delete(cacheKey));
      imported.set(cacheKey, key);
    }
    return key.catch((error: unknown) => {
      throw new FederationError('ERR_FEDERATION_TOKEN_KID', `The key '${kid(jwk)}' cannot verify ${alg} signatures.`, {
        cause: error,
      });
    });
  };

  return {
    async keyFor(issuerUri, keyId, alg, jwksJson) {
      const issuer = normaliseIssuer(issuerUri);
      if (jwksJson !== undefined && jwksJson !== '') {
        const jwk = parseJwks(jwksJson).find((k) => k.kid === keyId);
        if (!jwk) throw unknownKid(keyId);
        return importKey(`inline|${jwksJson.length}|${issuer}|${keyId}|${alg}|${JSON.stringify(jwk)}`, jwk, alg);
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
      return importKey(`${issuer}|${entry.fetchedAt}|${keyId}|${alg}`, jwk, alg);
    },
  };
}

function kid(jwk: JWK): string {
  return typeof jwk.kid === 'string' ? jwk.kid : '';
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

async function fetchJwks(doFetch: typeof fetch, issuer: string): Promise<JWK[]> {
  const discovery = await fetchJson(doFetch, `${issuer}/.well-known/openid-configuration`);
  const jwksUri = (discovery as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof jwksUri !== 'string') {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', 'The issuer discovery document has no jwks_uri.');
  }
  const announced = (discovery as { issuer?: unknown }).issuer;
  if (typeof announced === 'string' && normaliseIssuer(announced) !== issuer) {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', 'The issuer discovery document names another issuer.');
  }
  return parseJwks(JSON.stringify(await fetchJson(doFetch, jwksUri)));
}

async function fetchJson(doFetch: typeof fetch, url: string): Promise<unknown> {
  let response: Response;
  try {
    response = await doFetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', `The issuer could not be reached at ${safeUrl(url)}.`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new FederationError(
      'ERR_FEDERATION_DISCOVERY',
      `The issuer answered ${response.status} for ${safeUrl(url)}.`,
    );
  }
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', `The document at ${safeUrl(url)} is too large.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FederationError('ERR_FEDERATION_DISCOVERY', `The document at ${safeUrl(url)} is not JSON.`, {
      cause: error,
    });
  }
}

function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`.slice(0, 256);
  } catch {
    return 'an invalid URL';
  }
}
