// Reads the launcher's default attestation token and decodes its claims for inspection (never for trust).
import { readFile } from 'node:fs/promises';
import { type Claims, decodeClaims, decodeClaimsPayload, isSealroomError } from '@sealroom/core';
import { WorkloadError } from './errors.ts';
import { resolveLauncherPaths } from './paths.ts';

export interface ReadTokenOptions {
  /** Defaults to the launcher's token file. */
  readonly tokenFile?: string;
}

/**
 * The default token (audience `https://sts.<universe>`) as the launcher last wrote it, trimmed.
 *
 * @example
 * ```ts
 * const token = await readDefaultToken(); // /run/container_launcher/attestation_verifier_claims_token
 * const claims = decodeTokenClaims(token); // for logs and self-inspection only: relying parties verify
 * ```
 */
export async function readDefaultToken(options: ReadTokenOptions = {}): Promise<string> {
  const tokenFile = options.tokenFile ?? resolveLauncherPaths().tokenFile;
  let text: string;
  try {
    text = await readFile(tokenFile, 'utf8');
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_TOKEN_UNAVAILABLE', `the token file ${tokenFile} cannot be read`, { cause });
  }
  const token = text.trim();
  if (token.split('.').length !== 3) {
    throw new WorkloadError('ERR_WORKLOAD_TOKEN_UNAVAILABLE', `the token file ${tokenFile} holds no JWT yet`);
  }
  return token;
}

/**
 * The claims of the launcher's default token, checked against the claims contract (`parseClaims`) but
 * WITHOUT verifying its signature: for reading one's own claims. Relying parties verify the token against
 * the issuer's JWKS instead.
 *
 * @example
 * ```ts
 * const claims = await readTokenClaims();
 * claims.submods.container.image_digest; // 'sha256:…', the image this workload runs
 * ```
 * @throws WorkloadError `ERR_WORKLOAD_TOKEN_UNAVAILABLE` (no token yet); ContractError `ERR_CLAIMS_*`.
 */
export async function readTokenClaims(options: ReadTokenOptions = {}): Promise<Claims> {
  return decodeClaims(await readDefaultToken(options));
}

/**
 * The payload of any compact JWT, WITHOUT verifying its signature and without the claims contract: for
 * tokens that are not attestation tokens. An attestation token's claims are read with `readTokenClaims`
 * (or core's `decodeClaims`), which types them.
 */
export function decodeTokenClaims(token: string): { readonly [claim: string]: unknown } {
  let claims: unknown;
  try {
    claims = decodeClaimsPayload(token);
  } catch (cause) {
    const reason = isSealroomError(cause) ? cause.message : 'the token does not decode';
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', reason, { cause });
  }
  if (!isJsonObject(claims)) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'the JWT payload is not a JSON object');
  }
  return claims;
}

function isJsonObject(value: unknown): value is { readonly [claim: string]: unknown } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
