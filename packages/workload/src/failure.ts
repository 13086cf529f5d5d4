// Tells a transient failure (retry later: the same request can succeed) from a permanent one (it never will).
import { isSealroomError } from '@sealroom/core';

export type FailureKind = 'transient' | 'permanent';

/**
 * Why a failure is what it is, for logs and metrics (never the error's text, which may name a resource):
 * transient — `unreachable` (connection refused, reset, timed out, DNS), `unavailable` (UNAVAILABLE,
 * 503), `deadline` (DEADLINE_EXCEEDED, 504, 408), `overloaded` (RESOURCE_EXHAUSTED, 429, ABORTED),
 * `server-error` (INTERNAL, other 5xx), `token-expired` (the attestation token or an access token
 * expired), `issuer-unreachable` (the STS could not reach the verifier), `token-unavailable` (no token
 * file yet); permanent — `refused` (PERMISSION_DENIED, 403, a provider condition or an STS refusal),
 * `bad-request` (INVALID_ARGUMENT and other 4xx: bad ciphertext, wrong key, malformed name),
 * `not-found`, `bad-ciphertext` (local authentication of a ciphertext failed), `unrecognised`.
 */
export type FailureReason =
  | 'unreachable'
  | 'unavailable'
  | 'deadline'
  | 'overloaded'
  | 'server-error'
  | 'token-expired'
  | 'issuer-unreachable'
  | 'token-unavailable'
  | 'refused'
  | 'bad-request'
  | 'not-found'
  | 'bad-ciphertext'
  | 'unrecognised';

export interface FailureClass {
  readonly kind: FailureKind;
  readonly reason: FailureReason;
}

const transient = (reason: FailureReason): FailureClass => ({ kind: 'transient', reason });
const permanent = (reason: FailureReason): FailureClass => ({ kind: 'permanent', reason });

/** errno / undici codes of a connection that could not be made or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** google.rpc.Code numbers (gRPC statuses, and gax's codes for REST calls). */
const GRPC_CLASS: Readonly<Record<number, FailureClass>> = {
  3: permanent('bad-request'),
  4: transient('deadline'),
  5: permanent('not-found'),
  6: permanent('bad-request'),
  7: permanent('refused'),
  8: transient('overloaded'),
  9: permanent('bad-request'),
  10: transient('overloaded'),
  11: permanent('bad-request'),
  12: permanent('bad-request'),
  13: transient('server-error'),
  14: transient('unavailable'),
  // An access token the server no longer takes: the client's next exchange gets a fresh one.
  16: transient('token-expired'),
};

/** RFC 6749 / RFC 8693 error codes, as an STS answers them. */
const OAUTH_ERROR = /^Error code ([a-z_]+)(?::\s*(.*))?/s;
const EXPIRED = /\bexpired\b/i;
// The STS's fixed sentence for an issuer it cannot fetch (federation's ISSUER_UNAVAILABLE_MESSAGE), and older wordings.
const ISSUER_UNREACHABLE = /issuer is unavailable|could not be reached|unreachable|timed? ?out|temporarily/i;

/**
 * Classifies an error from an STS exchange, a KMS or Secret Manager call (REST or gRPC, through the
 * official clients or fetch), the teeserver, or the SDK's own envelope code. The cause chain is read
 * from its root outwards, so the failure that started it decides (a KMS call failing because the STS
 * said the attestation token expired is `token-expired`, not the INVALID_ARGUMENT gax reports).
 * Errors of unknown shape are permanent: retrying what cannot be recognised could hold work forever.
 */
export function classifyFailure(error: unknown): FailureClass {
  const chain: unknown[] = [];
  for (let node = error; node !== null && node !== undefined && chain.length < 8; ) {
    chain.push(node);
    const next = typeof node === 'object' ? (node as { cause?: unknown }).cause : undefined;
    if (next === node) break;
    node = next;
  }
  for (const node of chain.reverse()) {
    const found = classifyOne(node);
    if (found) return found;
  }
  return permanent('unrecognised');
}

/** True when the same call may succeed later (see classifyFailure). */
export function isTransientFailure(error: unknown): boolean {
  return classifyFailure(error).kind === 'transient';
}

function classifyOne(node: unknown): FailureClass | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const n = node as Record<string, unknown>;
  if (isSealroomError(node)) {
    if (node.code === 'ERR_WORKLOAD_ENVELOPE_INVALID') return permanent('bad-ciphertext');
    if (node.code === 'ERR_WORKLOAD_TOKEN_UNAVAILABLE') return transient('token-unavailable');
    if (node.code === 'ERR_WORKLOAD_TEESERVER') return transient('unreachable');
    if (node.code === 'ERR_WORKLOAD_HTTP') return httpClass(node.httpStatus);
    if (node.retryable) return transient(node.status === 'DEADLINE_EXCEEDED' ? 'deadline' : 'unavailable');
    // A wrapper saying only "decrypt failed": whatever caused it has been read already.
    return node.cause === undefined
      ? permanent(node.status === 'PERMISSION_DENIED' ? 'refused' : 'bad-request')
      : undefined;
  }
  const oauth = oauthClass(n);
  if (oauth) return oauth;
  if (typeof n.code === 'string') {
    if (NETWORK_CODES.has(n.code)) return transient('unreachable');
    // The launcher writes the token file before the workload starts and replaces it by rename.
    if (n.code === 'ENOENT' && (n.syscall === 'lstat' || n.syscall === 'open' || n.syscall === 'stat')) {
      return transient('token-unavailable');
    }
    if (n.code === 'ERR_CRYPTO_INVALID_AUTH_TAG' || n.code === 'ERR_OSSL_BAD_DECRYPT')
      return permanent('bad-ciphertext');
  }
  if (n.message === 'Unsupported state or unable to authenticate data') return permanent('bad-ciphertext');
  const http = httpStatusOf(n);
  if (http !== undefined) return httpClass(http);
  if (typeof n.code === 'number' && Number.isInteger(n.code) && n.code >= 1 && n.code <= 16) {
    return GRPC_CLASS[n.code];
  }
  if (n.name === 'AbortError' || n.name === 'TimeoutError') return transient('deadline');
  return undefined;
}

/** An STS answer: google-auth-library's "Error code invalid_grant: …", or a response body carrying `error`. */
function oauthClass(n: Record<string, unknown>): FailureClass | undefined {
  const data = (n.response as { data?: unknown } | undefined)?.data as Record<string, unknown> | undefined;
  let code = typeof data?.error === 'string' ? data.error : undefined;
  let description = typeof data?.error_description === 'string' ? data.error_description : '';
  if (code === undefined && typeof n.message === 'string') {
    const match = OAUTH_ERROR.exec(n.message);
    if (match) [code, description] = [match[1], match[2] ?? ''];
  }
  if (code === undefined) return undefined;
  if (code === 'server_error' || code === 'temporarily_unavailable') return transient('unavailable');
  if (EXPIRED.test(description)) return transient('token-expired');
  if (ISSUER_UNREACHABLE.test(description)) return transient('issuer-unreachable');
  return permanent('refused');
}

function httpStatusOf(n: Record<string, unknown>): number | undefined {
  const candidates = [(n.response as { status?: unknown } | undefined)?.status, n.httpStatusCode, n.status, n.code];
  for (const value of candidates) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  }
  return undefined;
}

function httpClass(status: number): FailureClass {
  if (status === 401) return transient('token-expired');
  if (status === 403) return permanent('refused');
  if (status === 404) return permanent('not-found');
  if (status === 408) return transient('deadline');
  if (status === 409 || status === 429) return transient('overloaded');
  if (status === 503) return transient('unavailable');
  if (status === 504) return transient('deadline');
  if (status >= 500) return transient('server-error');
  return permanent('bad-request');
}
