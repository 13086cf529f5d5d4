// Parses and limits `POST /v1/token` bodies of the teeserver (docs/launcher.md, "teeserver").
import { LauncherError } from './errors.ts';
import { utf8Length } from './parse-values.ts';
import { type CustomTokenRequest, TOKEN_TYPES, type TokenType } from './token-source.ts';

export const MAX_AUDIENCE_BYTES = 512;
export const MAX_NONCES = 6;
export const MIN_NONCE_BYTES = 8;
export const MAX_NONCE_BYTES = 88;

/** Fields Google's teeserver knows; any other field is rejected (Go's DisallowUnknownFields). */
const KNOWN_FIELDS = new Set(['audience', 'nonces', 'token_type', 'aws_principal_tag_options']);

function invalid(reason: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_TOKEN_REQUEST_INVALID', reason);
}

/** Parses the raw body; throws ERR_LAUNCHER_TOKEN_REQUEST_INVALID with a reason a workload author can act on. */
export function parseCustomTokenRequest(bodyText: string): CustomTokenRequest {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw invalid('the request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('the request body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(key)) throw invalid(`json: unknown field "${key}"`);
  }
  const audience = fields.audience ?? '';
  if (typeof audience !== 'string') throw invalid('audience must be a string');
  if (audience === '') throw invalid('use GET request for the default identity token');
  if (utf8Length(audience) > MAX_AUDIENCE_BYTES) {
    throw invalid(`audience is longer than ${MAX_AUDIENCE_BYTES} bytes`);
  }
  const tokenType = fields.token_type ?? '';
  if (typeof tokenType !== 'string') throw invalid('token_type must be a string');
  if (tokenType === '') throw invalid('token_type is a required parameter');
  if (!(TOKEN_TYPES as readonly string[]).includes(tokenType)) {
    throw invalid(`token_type "${tokenType}" is not supported: use OIDC or PKI`);
  }
  if (fields.aws_principal_tag_options !== undefined && fields.aws_principal_tag_options !== null) {
    throw invalid('aws_principal_tag_options applies only to the AWS token types, which Sealroom does not issue');
  }
  return { audience, nonces: parseNonces(fields.nonces), tokenType: tokenType as TokenType };
}

function parseNonces(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((nonce) => typeof nonce === 'string')) {
    throw invalid('nonces must be an array of strings');
  }
  if (value.length > MAX_NONCES) throw invalid(`at most ${MAX_NONCES} nonces are allowed, got ${value.length}`);
  value.forEach((nonce: string, index) => {
    const bytes = utf8Length(nonce);
    if (bytes < MIN_NONCE_BYTES || bytes > MAX_NONCE_BYTES) {
      throw invalid(`nonce ${index} is ${bytes} bytes; each nonce must be ${MIN_NONCE_BYTES}–${MAX_NONCE_BYTES} bytes`);
    }
  });
  return value;
}
