// Service-account ID tokens from the instance (→ google_service_accounts): verified with jose against the
// deployment's accounts JWKS, issuer `{baseUrl}/accounts`, audience = the challenge name.
import { createPublicKey, type JsonWebKey, KeyObject } from 'node:crypto';
import { verifyRs256 } from '@sealroom/core';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { VerifierError } from './errors.ts';

export interface ServiceAccountTokenVerifierOptions {
  /** `{baseUrl}/accounts`. */
  readonly issuer: string;
  /** Where the keys come from; defaults to `{issuer}/v3/certs` over HTTP. Injectable for tests. */
  readonly keys?: JWTVerifyGetKey;
  /** Current time in ms (the verifier's clock). */
  readonly now: () => number;
}

export type ServiceAccountTokenVerifier = (tokens: readonly string[], audience: string) => Promise<string[]>;

const MAX_TOKENS = 16;

export function createServiceAccountTokenVerifier(
  options: ServiceAccountTokenVerifierOptions,
): ServiceAccountTokenVerifier {
  const keys = options.keys ?? createRemoteJWKSet(new URL(`${options.issuer}/v3/certs`));
  return async (tokens, audience) => {
    if (tokens.length > MAX_TOKENS) {
      throw new VerifierError('ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN', `At most ${MAX_TOKENS} service-account tokens.`);
    }
    const emails: string[] = [];
    for (const [i, token] of tokens.entries()) {
      let payload: Record<string, unknown>;
      try {
        payload = await verifyIdToken(token, keys, options.issuer, audience, Math.floor(options.now() / 1000));
      } catch (cause) {
        const reason = (cause as { code?: string }).code ?? 'invalid';
        throw new VerifierError(
          'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN',
          `Service-account token ${i} was refused (${reason}).`,
          { cause },
        );
      }
      if (typeof payload.email !== 'string' || payload.email_verified !== true) {
        throw new VerifierError(
          'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN',
          `Service-account token ${i} has no verified email.`,
        );
      }
      if (!emails.includes(payload.email)) emails.push(payload.email);
    }
    return emails;
  };
}

/** A refusal carrying the code jose gives the same failure, so refusals read alike whoever checked. */
class TokenRefusal extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Keys as jose's key sets hand them out, turned into KeyObjects once (the sets return the same objects). */
const keyObjects = new WeakMap<object, KeyObject>();

function toKeyObject(key: unknown): KeyObject {
  if (key instanceof KeyObject) return key;
  if (typeof key !== 'object' || key === null || key instanceof Uint8Array) {
    throw new TokenRefusal('ERR_JOSE_NOT_SUPPORTED', 'not an asymmetric key');
  }
  let converted = keyObjects.get(key);
  if (!converted) {
    converted =
      typeof CryptoKey !== 'undefined' && key instanceof CryptoKey
        ? KeyObject.from(key)
        : createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    keyObjects.set(key, converted);
  }
  return converted;
}

/**
 * An RS256 ID token checked as jose's jwtVerify checks it (issuer, audience, exp, iat and sub required, nbf
 * honoured, no clock tolerance), with the RSA signature verified by node:crypto on the calling thread:
 * WebCrypto's verify cost a thread-pool job per token, and a verify request carries several.
 */
async function verifyIdToken(
  token: string,
  keys: JWTVerifyGetKey,
  issuer: string,
  audience: string,
  nowSeconds: number,
): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRefusal('ERR_JWS_INVALID', 'not a compact JWS');
  const [protectedHeader = '', payloadPart = '', signature = ''] = parts;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token);
  } catch (error) {
    throw Object.assign(new TokenRefusal('ERR_JWT_INVALID', 'not a JWT'), { cause: error });
  }
  if (header.alg !== 'RS256') throw new TokenRefusal('ERR_JOSE_ALG_NOT_ALLOWED', 'alg must be RS256');
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new TokenRefusal('ERR_JWS_INVALID', 'unsupported header extension');
  }
  const key = toKeyObject(
    await keys(header as Parameters<JWTVerifyGetKey>[0], {
      protected: protectedHeader,
      payload: payloadPart,
      signature,
    }),
  );
  if (
    key.type !== 'public' ||
    key.asymmetricKeyType !== 'rsa' ||
    (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048
  ) {
    throw new TokenRefusal('ERR_JOSE_NOT_SUPPORTED', 'RS256 needs an RSA key of 2048 bits or more');
  }
  if (!verifyRs256(`${protectedHeader}.${payloadPart}`, signature, key))
    throw new TokenRefusal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  const claim = (message: string) => new TokenRefusal('ERR_JWT_CLAIM_VALIDATION_FAILED', message);
  for (const name of ['exp', 'iat', 'sub']) if (!(name in payload)) throw claim(`missing required "${name}" claim`);
  if (payload.iss !== issuer) throw claim('unexpected "iss" claim value');
  const aud = payload.aud;
  if (!(typeof aud === 'string' ? aud === audience : Array.isArray(aud) && aud.includes(audience))) {
    throw claim('unexpected "aud" claim value');
  }
  if (typeof payload.iat !== 'number') throw claim('"iat" claim must be a number');
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== 'number') throw claim('"nbf" claim must be a number');
    if (payload.nbf > nowSeconds) throw claim('"nbf" claim timestamp check failed');
  }
  if (typeof payload.exp !== 'number') throw claim('"exp" claim must be a number');
  if (payload.exp <= nowSeconds) throw new TokenRefusal('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed');
  return payload;
}
