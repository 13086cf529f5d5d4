// Error catalogue of @sealroom/outbound: why an outbound HTTP(S) request was refused or failed.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const OUTBOUND_ERRORS = {
  ERR_OUTBOUND_URL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The URL is not an absolute http(s) URL, carries a user name or password, or uses plain http to a host that is not on the allow-list.',
  },
  ERR_OUTBOUND_ADDRESS: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The host resolves to a loopback, private, link-local, metadata or otherwise non-public address that is not on the allow-list.',
  },
  ERR_OUTBOUND_DNS: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'The host name does not resolve.',
  },
  ERR_OUTBOUND_CONNECT: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'The connection failed: refused, reset, unreachable, or the TLS handshake failed.',
  },
  ERR_OUTBOUND_TIMEOUT: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'The remote did not connect, answer or finish its body within the time limit.',
  },
  ERR_OUTBOUND_TOO_LARGE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The response body is larger than the limit; the transfer was cut at the limit.',
  },
  ERR_OUTBOUND_REDIRECT: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The remote redirected too often, to a non-http(s) URL, or where the caller accepts no redirect.',
  },
  ERR_OUTBOUND_ABORTED: {
    status: 'CANCELLED',
    retryable: false,
    description: 'The caller cancelled the request.',
  },
  ERR_OUTBOUND_POLICY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An outbound policy entry is malformed: a host that is not `host` or `host:port`, a range that is not an address or CIDR range, an origin that is not http(s), a limit that is not a positive integer. The message names it.',
  },
  ERR_OUTBOUND_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The outbound client was called with a target other than a URL string or object, or a body other than a string, Uint8Array or ArrayBuffer.',
  },
} as const satisfies ErrorCatalog<string>;

export type OutboundErrorCode = keyof typeof OUTBOUND_ERRORS;

export interface OutboundErrorOptions extends SealroomErrorOptions {
  /** The request's origin and path (never its query or credentials), for audit entries and logs. */
  readonly target?: string;
}

/**
 * An outbound request refused by the policy or failed on the network. Its message names the target
 * (origin and path only) and the reason; callers that serve an untrusted party show a generic text
 * instead and record this one where the resource's owner can read it.
 */
export class OutboundError extends SealroomError<OutboundErrorCode> {
  readonly target: string | undefined;

  constructor(code: OutboundErrorCode, message: string, options: OutboundErrorOptions = {}) {
    super(OUTBOUND_ERRORS, code, message, options);
    this.target = options.target;
  }
}

/** A URL as it may appear in a message or an audit entry: origin and path, no credentials, query or fragment. */
export function describeTarget(url: URL | string): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`.slice(0, 256);
  } catch {
    return 'an invalid URL';
  }
}
