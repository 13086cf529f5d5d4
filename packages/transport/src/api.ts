// The framework-free shape of a REST API: routes with Google path templates, requests, responses.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Caller } from '@sealroom/core';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How the body reaches the handler:
 * - `json`: parsed JSON (`undefined` when empty); the KMS REST fallback's literal `""` body parses as "".
 * - `form-or-json`: `application/x-www-form-urlencoded` as a string record, anything else as JSON.
 * - `raw`: the whole body as a Buffer (up to bodyLimit).
 * - `stream`: not read; the handler reads `request.raw` itself (registry blob uploads).
 * - `none`: a body is refused.
 */
export type BodyMode = 'json' | 'form-or-json' | 'raw' | 'stream' | 'none';

/** Who may call: `required` → a valid bearer token; `optional` → caller may be undefined; `none` → never looked at. */
export type AuthMode = 'required' | 'optional' | 'none';

export interface ApiRequest {
  /** Values captured by the path template, e.g. `{ name: 'projects/p/locations/global/keyRings/kr' }`. */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters; a repeated key gives its last value (`queryAll` has every value). */
  readonly query: Readonly<Record<string, string>>;
  readonly queryAll: Readonly<Record<string, readonly string[]>>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed body per the route's BodyMode. */
  readonly body: unknown;
  /** The body bytes for `raw` routes. */
  readonly rawBody: Buffer | undefined;
  readonly caller: Caller | undefined;
  /** The bearer token as sent, for routes that must inspect it (introspection). */
  readonly bearerToken: string | undefined;
  readonly requestId: string;
  /** Base URL the client used (scheme://host:port), for self-links and registry locations. */
  readonly baseUrl: string;
  /** The Node request, for `stream` routes. */
  readonly raw: IncomingMessage;
  readonly signal: AbortSignal;
}

export interface ApiResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  /** A plain value is sent as JSON; a string or Buffer as is; a Readable is piped. */
  readonly body?: unknown;
}

/** Maps an error to a response in a format other than Google's (STS's RFC 6749 body, OCI's errors). */
export type ErrorMapper = (error: unknown) => ApiResponse | undefined;

export interface ApiRoute {
  readonly method: HttpMethod;
  /**
   * A Google HTTP-rule path template: literals, `{var}` (one segment), `{var=projects/*\/keyRings/*}`
   * (the matched text, with `*` one segment and `**` any number), and a `:verb` suffix.
   */
  readonly path: string;
  readonly auth?: AuthMode;
  readonly body?: BodyMode;
  /** Maximum body size in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  readonly mapError?: ErrorMapper;
  /** Marks a reply as a full ApiResponse; otherwise the handler's return value is the JSON body. */
  handler(request: ApiRequest): Promise<ApiResponse | unknown>;
}

/** Wraps a handler result that carries status or headers. */
export function reply(body: unknown, status = 200, headers: Record<string, string | number> = {}): ApiResponse {
  return new ApiReply(status, headers, body);
}

export class ApiReply implements ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: unknown;
  constructor(status: number, headers: Readonly<Record<string, string | number>>, body: unknown) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

export type { Readable };
