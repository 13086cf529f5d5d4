// Verification of an STS subject token (a JWT) against a provider: algorithm, kid, issuer, signature, times, audience.
import { type KeyObject, verify as verifySignature } from 'node:crypto';
import { type Clock, verifyEcdsaP1363 } from '@sealroom/core';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { FederationError } from './errors.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import { normaliseIssuer } from './names.ts';

export const ALLOWED_ALGORITHMS: readonly string[] = ['RS256', 'ES256'];
/** Google does not document the clock skew its STS allows; 60 s each way (docs/federation.md). */
export const CLOCK_SKEW_SECONDS = 60;
/** `exp - iat` must stay below 48 h, as Google's STS requires of a subject token. */
export const MAX_TOKEN_LIFETIME_SECONDS = 48 * 3600;

export interface VerifyTokenOptions {
  readonly issuerUri: string;
  readonly jwksJson?: string | undefined;
  /** `aud` must contain one of these. */
  readonly audiences: readonly string[];
  readonly keys: IssuerKeys;
  readonly clock: Clock;
}

export interface VerifiedToken {
  readonly claims: Record<string, unknown>;
  readonly kid: string;
  readonly alg: string;
  readonly issuer: string;
  readonly subject: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** Decodes header and payload without verifying; throws ERR_FEDERATION_TOKEN_MALFORMED. */
export function decodeSubjectToken(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const malformed = (cause?: unknown) =>
    new FederationError(
      'ERR_FEDERATION_TOKEN_MALFORMED',
      'The subject token is not a valid JWT.',
      cause === undefined ? {} : { cause },
    );
  // A JWT here is a compact JWS: exactly three parts.
  if (token.split('.').length !== 3) throw malformed();
  try {
    return { header: decodeProtectedHeader(token) as Record<string, unknown>, claims: decodeJwt(token) };
  } catch (error) {
    throw malformed(error);
  }
}

export async function verifySubjectToken(token: string, options: VerifyTokenOptions): Promise<VerifiedToken> {
  const { header, claims } = decodeSubjectToken(token);
  const alg = header.alg;
  if (typeof alg !== 'string' || !ALLOWED_ALGORITHMS.includes(alg)) {
    throw new FederationError(
      'ERR_FEDERATION_TOKEN_ALGORITHM',
      `The subject token's alg '${String(alg).slice(0, 16)}' is not allowed; use RS256 or ES256.`,
    );
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') {
    throw new FederationError('ERR_FEDERATION_TOKEN_KID', 'The subject token header has no kid.');
  }
  const expectedIssuer = normaliseIssuer(options.issuerUri);
  if (typeof claims.iss !== 'string' || normaliseIssuer(claims.iss) !== expectedIssuer) {
    throw new FederationError('ERR_FEDERATION_TOKEN_ISSUER', "The subject token's iss is not the provider's issuer.");
  }
  const key = await options.keys.keyFor(expectedIssuer, kid, alg, options.jwksJson);
  if (!hasValidSignature(token, header, alg, key)) {
    throw new FederationError('ERR_FEDERATION_TOKEN_SIGNATURE', 'The subject token signature is invalid.');
  }
  const expiresAt = checkTimes(claims, options.clock.now() / 1000);
  checkAudience(claims.aud, options.audiences);
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new FederationError('ERR_FEDERATION_TOKEN_CLAIMS', 'The subject token has no sub claim.');
  }
  return { claims, kid, alg, issuer: expectedIssuer, subject: claims.sub, expiresAt };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * RFC 7515 §5.2 on the calling thread with node:crypto (a WebCrypto verification costs a thread-pool job
 * and a promise per token): the signature over `header.payload`, RSASSA-PKCS1-v1_5 for RS256, ECDSA with
 * the fixed-size r‖s encoding for ES256 (RFC 7518 §3.4). A header with `crit` is refused: no extension is
 * understood here (RFC 7515 §4.1.11), and `b64: false` would change what was signed.
 */
function hasValidSignature(token: string, header: Record<string, unknown>, alg: string, key: KeyObject): boolean {
  if (header.crit !== undefined || header.b64 !== undefined) return false;
  const end = token.lastIndexOf('.');
  const signature = token.slice(end + 1);
  if (!BASE64URL.test(signature)) return false;
  const input = Buffer.from(token.slice(0, end));
  const bytes = Buffer.from(signature, 'base64url');
  try {
    return alg === 'ES256'
      ? verifyEcdsaP1363('sha256', input, key, bytes)
      : verifySignature('sha256', input, key, bytes);
  } catch {
    return false;
  }
}

function checkTimes(claims: Record<string, unknown>, now: number): number {
  const { iat, exp, nbf } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    throw new FederationError('ERR_FEDERATION_TOKEN_TIME', 'The subject token must carry numeric iat and exp claims.');
  }
  if (iat > now + CLOCK_SKEW_SECONDS) {
    throw new FederationError('ERR_FEDERATION_TOKEN_TIME', 'The subject token was issued in the future (iat).');
  }
  if (typeof nbf === 'number' && nbf > now + CLOCK_SKEW_SECONDS) {
    throw new FederationError('ERR_FEDERATION_TOKEN_TIME', 'The subject token is not yet valid (nbf).');
  }
  if (exp <= now - CLOCK_SKEW_SECONDS) {
    throw new FederationError('ERR_FEDERATION_TOKEN_TIME', 'The subject token has expired (exp).');
  }
  if (exp - iat >= MAX_TOKEN_LIFETIME_SECONDS) {
    throw new FederationError(
      'ERR_FEDERATION_TOKEN_TIME',
      'The subject token lifetime (exp - iat) must be less than 48 hours.',
    );
  }
  return exp;
}

function checkAudience(aud: unknown, allowed: readonly string[]): void {
  const given = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
  if (!given.some((a) => allowed.includes(a))) {
    throw new FederationError(
      'ERR_FEDERATION_TOKEN_AUDIENCE',
      "The subject token's aud does not match an allowed audience of the provider.",
    );
  }
}
