// The one outbound HTTP(S) client: a fetch-compatible function and a coalescing buffered GET, both under one policy.
import { readBody, streamBody } from './body.ts';
import { describeTarget, OutboundError } from './errors.ts';
import { type RedirectMode, type Resolver, startExchange, systemResolver } from './exchange.ts';
import { checkUrl, type OutboundPolicy, type ResolvedPolicy, resolvePolicy } from './policy.ts';

export interface OutboundClientOptions {
  readonly policy?: OutboundPolicy;
  /** Name resolution (tests inject one); the system resolver otherwise. */
  readonly resolve?: Resolver;
}

/** The subset of RequestInit the outbound fetch honours, plus per-call limits. */
export interface OutboundFetchInit {
  readonly method?: string;
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  readonly body?: string | Uint8Array | ArrayBuffer | null;
  readonly signal?: AbortSignal | null;
  readonly redirect?: RedirectMode;
  /** Overrides the policy's total time limit for this call. */
  readonly timeoutMs?: number;
  /** Overrides the policy's body size limit for this call. */
  readonly maxBodyBytes?: number;
}

export type OutboundFetch = (input: string | URL, init?: OutboundFetchInit) => Promise<Response>;

export interface GetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly maxBodyBytes?: number;
}

export interface BufferedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

export interface OutboundClient {
  readonly policy: ResolvedPolicy;
  /** fetch() under the policy; the body stream errors and the connection is cut past the size limit. */
  readonly fetch: OutboundFetch;
  /**
   * A GET read to the end (within the size limit). Concurrent calls for the same URL, headers and
   * limits share one request and its result.
   */
  get(url: string | URL, options?: GetOptions): Promise<BufferedResponse>;
  /** Throws ERR_OUTBOUND_URL when the policy refuses the URL itself (scheme, credentials, plain http). */
  checkUrl(url: string | URL): void;
  /** A client under this policy with `extra` added (lists appended, limits replaced). */
  with(extra: OutboundPolicy): OutboundClient;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * An HTTP client for requests that leave the process: https only, public addresses only, bounded
 * redirects, sizes and times, unless the policy allows more.
 *
 * @example
 * ```ts
 * const client = createOutboundClient({ policy: { trustedOrigins: ['https://sealroom.collab1.example'] } });
 * const response = await client.fetch('https://sealroom.collab1.example/.well-known/openid-configuration');
 * ```
 */
export function createOutboundClient(options: OutboundClientOptions = {}): OutboundClient {
  const input = options.policy ?? {};
  const policy = resolvePolicy(input);
  const resolve = options.resolve ?? systemResolver;
  const inflight = new Map<string, Promise<BufferedResponse>>();

  const parse = (url: string | URL): URL => {
    try {
      return new URL(url);
    } catch {
      throw new OutboundError('ERR_OUTBOUND_URL', 'The URL is not an absolute URL.');
    }
  };

  const fetchUnderPolicy: OutboundFetch = async (target, init = {}) => {
    if (typeof target !== 'string' && !(target instanceof URL)) {
      throw new OutboundError('ERR_OUTBOUND_REQUEST', 'The outbound fetch takes a URL string or a URL object.');
    }
    const url = parse(target);
    const method = (init.method ?? 'GET').toUpperCase();
    const exchange = await startExchange(policy, resolve, url, {
      method,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: toBuffer(init.body),
      signal: init.signal ?? undefined,
      redirect: init.redirect ?? 'follow',
      timeoutMs: init.timeoutMs ?? policy.timeoutMs,
    });
    const { response } = exchange;
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 599) {
      const error = new OutboundError('ERR_OUTBOUND_CONNECT', `${describeTarget(url)} answered status ${status}.`, {
        target: describeTarget(url),
      });
      exchange.fail(error);
      exchange.done();
      throw error;
    }
    const headers = toHeaders(response.headers);
    const init2 = { status, statusText: response.statusMessage ?? '', headers };
    if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
      response.resume();
      exchange.done();
      return new Response(null, init2);
    }
    return new Response(streamBody(exchange, init.maxBodyBytes ?? policy.maxBodyBytes), init2);
  };

  const getOnce = async (url: URL, options: GetOptions): Promise<BufferedResponse> => {
    const exchange = await startExchange(policy, resolve, url, {
      method: 'GET',
      headers: { ...options.headers },
      body: undefined,
      signal: undefined,
      redirect: 'follow',
      timeoutMs: options.timeoutMs ?? policy.timeoutMs,
    });
    const body = await readBody(exchange, options.maxBodyBytes ?? policy.maxBodyBytes);
    return {
      status: exchange.response.statusCode ?? 0,
      headers: toHeaders(exchange.response.headers),
      body,
      url: exchange.url.href,
    };
  };

  return {
    policy,
    fetch: fetchUnderPolicy,
    get(target, options = {}) {
      const url = parse(target);
      const key = JSON.stringify([url.href, options.headers ?? {}, options.timeoutMs, options.maxBodyBytes]);
      let pending = inflight.get(key);
      if (!pending) {
        pending = getOnce(url, options).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    checkUrl(target) {
      checkUrl(parse(target), policy);
    },
    with(extra) {
      return createOutboundClient({
        ...(options.resolve ? { resolve: options.resolve } : {}),
        policy: {
          ...input,
          ...extra,
          httpHosts: [...(input.httpHosts ?? []), ...(extra.httpHosts ?? [])],
          allowedRanges: [...(input.allowedRanges ?? []), ...(extra.allowedRanges ?? [])],
          trustedOrigins: [...(input.trustedOrigins ?? []), ...(extra.trustedOrigins ?? [])],
          allowLoopback: extra.allowLoopback ?? input.allowLoopback ?? false,
        },
      });
    },
  };
}

function toBuffer(body: OutboundFetchInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new OutboundError('ERR_OUTBOUND_REQUEST', 'The outbound fetch takes a string, Uint8Array or ArrayBuffer body.');
}

function toHeaders(raw: NodeJS.Dict<string | string[]>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}
