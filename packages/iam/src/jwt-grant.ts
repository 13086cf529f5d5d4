// The JWT-bearer grant of the token endpoint (RFC 7523): a service-account key signs an assertion; the
// answer is an access token, or an ID token when the assertion carries `target_audience` (Google's behaviour).
import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { type Clock, publicKeyFromPem, verifyRs256 } from '@sealroom/core';
import { IamError } from './errors.ts';
import type { ServiceAccountKeyStore } from './service-account-keys.ts';
import type { ServiceAccount, ServiceAccountStore } from './service-accounts.ts';

/** The audience google-auth-library and gcloud put in assertions (the key file's token_uri by default). */
export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
/** Google's rule: an assertion lives at most one hour (`exp - iat`). */
const MAX_ASSERTION_LIFETIME_S = 3600;
/** Clock skew allowed each way on a service-account JWT's times, in seconds. */
export const CLOCK_SKEW_S = 60;
const MAX_ASSERTION_CHARS = 16 * 1024;
const MAX_TARGET_AUDIENCE_CHARS = 1024;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Stands for an account that does not exist, so that its key lookup runs like a real one (and finds nothing). */
const UNKNOWN_ACCOUNT: ServiceAccount = {
  email: '',
  projectNumber: '',
  projectId: '',
  accountId: '',
  uniqueId: '',
  displayName: '',
  description: '',
  disabled: true,
};

export interface AssertionClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly iat: number;
  readonly exp: number;
  readonly sub?: string;
  readonly target_audience?: string;
}

export interface VerifiedAssertion {
  readonly account: ServiceAccount;
  readonly keyId: string;
  readonly claims: AssertionClaims;
}

export interface JwtGrantOptions {
  readonly accounts: ServiceAccountStore;
  readonly keys: ServiceAccountKeyStore;
  readonly clock: Clock;
  /** Accepted `aud` values, from configuration (never from the request). */
  readonly audiences: readonly string[];
}

const grantError = (message: string) => new IamError('ERR_IAM_INVALID_GRANT', message);

let decoy: KeyObject | undefined;
/**
 * A key no assertion is signed with, checked when the account or key is unknown, so that such an
 * assertion costs the same work (one key lookup, one RSA verification) as a bad signature by a
 * real key, and the time of the answer does not tell which accounts and keys exist.
 */
function decoyKey(): KeyObject {
  if (!decoy) {
    // A random 2048-bit modulus (top bit set, odd) with e = 65537: verifying against it costs what a real
    // key of service-account size costs, and no private key for it is known to anyone.
    const n = randomBytes(256);
    n[0] = (n[0] as number) | 0x80;
    n[255] = (n[255] as number) | 1;
    decoy = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
  }
  return decoy;
}

function decodeSegment(segment: string): Record<string, unknown> {
  if (!SEGMENT.test(segment)) throw grantError('Invalid JWT: the assertion is not a JWT.');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw grantError('Invalid JWT: the assertion is not a JWT.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw grantError('Invalid JWT: the assertion is not a JWT.');
  }
  return value as Record<string, unknown>;
}

/** A compact RS256 JWT's parts, decoded without trusting them. */
export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** `header.payload` as sent: what the signature covers. */
  readonly signingInput: string;
  readonly signature: string;
}

/**
 * Decodes a compact JWT whose header says RS256 and names no critical extension; any other shape is
 * invalid_grant (an assertion) or, to the caller's choice, whatever it maps that to (a bearer token).
 */
export function decodeRs256Jwt(token: string): DecodedJwt {
  const parts = token.length > MAX_ASSERTION_CHARS ? [] : token.split('.');
  if (parts.length !== 3 || !SEGMENT.test(parts[2] as string))
    throw grantError('Invalid JWT: the assertion is not a JWT.');
  const header = decodeSegment(parts[0] as string);
  const payload = decodeSegment(parts[1] as string);
  if (header.alg !== 'RS256') throw grantError('Invalid JWT: the algorithm must be RS256.');
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw grantError('Invalid JWT: critical header extensions are not supported.');
  }
  if (header.kid !== undefined && typeof header.kid !== 'string')
    throw grantError('Invalid JWT: kid must be a string.');
  return {
    header,
    payload,
    signingInput: `${parts[0] as string}.${parts[1] as string}`,
    signature: parts[2] as string,
  };
}

/** Parses an assertion without trusting it; every malformation is invalid_grant, never a server error. */
export function parseAssertion(assertion: string): {
  kid: string | undefined;
  claims: AssertionClaims;
  decoded: DecodedJwt;
} {
  const decoded = decodeRs256Jwt(assertion);
  const { header, payload } = decoded;
  const { iss, aud, iat, exp, sub } = payload;
  const target = payload.target_audience;
  const audOk = typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string'));
  if (typeof iss !== 'string' || iss === '' || !audOk || !Number.isFinite(iat) || !Number.isFinite(exp)) {
    throw grantError('Invalid JWT: iss, aud, iat and exp are required.');
  }
  if (sub !== undefined && sub !== iss) {
    throw grantError('Invalid JWT: sub must be the service account itself (no domain-wide delegation).');
  }
  if (
    target !== undefined &&
    (typeof target !== 'string' || target === '' || target.length > MAX_TARGET_AUDIENCE_CHARS)
  ) {
    throw grantError(`Invalid JWT: target_audience must be a string of 1-${MAX_TARGET_AUDIENCE_CHARS} characters.`);
  }
  return {
    kid: header.kid as string | undefined,
    decoded,
    claims: {
      iss,
      aud: aud as string | string[],
      iat: iat as number,
      exp: exp as number,
      ...(sub === undefined ? {} : { sub: sub as string }),
      ...(target === undefined ? {} : { target_audience: target as string }),
    },
  };
}

/**
 * Google's rule for a service account's own JWT (an assertion or a self-signed bearer): issued no later than the
 * skew from now, not expired for longer than the skew, `exp` after `iat` by at most an hour.
 */
export function shortLived(iat: number, exp: number, nowSeconds: number): boolean {
  return (
    iat <= nowSeconds + CLOCK_SKEW_S &&
    exp > nowSeconds - CLOCK_SKEW_S &&
    exp > iat &&
    exp - iat <= MAX_ASSERTION_LIFETIME_S
  );
}

/**
 * Verifies an assertion: a live, enabled account named by `iss`, a signature by one of its enabled keys
 * (the `kid` one, or any when the assertion has none, as google-auth-library sends it), an accepted
 * audience and a short lifetime around now.
 */
export async function verifyJwtAssertion(assertion: string, options: JwtGrantOptions): Promise<VerifiedAssertion> {
  const { kid, claims, decoded } = parseAssertion(assertion);
  // A missing, disabled or deleted account reads like a bad signature: the endpoint takes no credential, so it
  // must not tell anyone which accounts exist.
  const found = await options.accounts.get(claims.iss);
  const account = found && !found.disabled ? found : undefined;
  // Unknown or disabled accounts are looked up like any other: the same queries, then the decoy key.
  const owner: ServiceAccount = account ?? { ...UNKNOWN_ACCOUNT, email: claims.iss };
  const stored =
    kid === undefined
      ? await options.keys.publicKeys(owner)
      : await options.keys.publicKey(owner, kid).then((pem) => (pem ? [{ keyId: kid, pem }] : []));
  const candidates: { keyId: string | undefined; key: KeyObject }[] =
    account && stored.length > 0
      ? stored.map((c) => ({ keyId: c.keyId, key: publicKeyFromPem(c.pem) }))
      : [{ keyId: undefined, key: decoyKey() }];
  let keyId: string | undefined;
  for (const candidate of candidates) {
    if (verifyRs256(decoded.signingInput, decoded.signature, candidate.key)) {
      keyId = candidate.keyId;
      break;
    }
  }
  if (keyId === undefined || !account) throw grantError('Invalid JWT Signature.');
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  if (!audiences.some((a) => options.audiences.includes(a))) throw grantError('Invalid JWT: Failed audience check.');
  if (!shortLived(claims.iat, claims.exp, Math.floor(options.clock.now() / 1000))) {
    throw grantError(
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
    );
  }
  return { account, keyId, claims };
}
