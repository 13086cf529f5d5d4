// Reads the launcher's default attestation token and decodes its claims for inspection (never for trust).
import { readFile } from 'node:fs/promises';
import { fromBase64Url } from '@sealroom/core';
import { WorkloadError } from './errors.ts';
import { resolveLauncherPaths } from './paths.ts';

export interface ReadTokenOptions {
  /** Defaults to the launcher's token file. */
  readonly tokenFile?: string;
}

/** The default token (audience `https://sts.<universe>`) as the launcher last wrote it, trimmed. */
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
 * The payload of a compact JWT, WITHOUT verifying its signature: for logging a digest or reading one's
 * own claims. Relying parties verify against the issuer's JWKS instead.
 */
export function decodeTokenClaims(token: string): Record<string, unknown> {
  const parts = token.trim().split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'not a compact JWT (three dot-separated parts expected)');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(fromBase64Url(payload).toString('utf8'));
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'the JWT payload is not JSON', { cause });
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'the JWT payload is not a JSON object');
  }
  return claims as Record<string, unknown>;
}
