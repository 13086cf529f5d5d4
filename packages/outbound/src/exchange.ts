// One outbound request under the policy: every hop's URL and resolved address checked, redirects, timeouts.
import { lookup as dnsLookup } from 'node:dns/promises';
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { parseAddress } from './address.ts';
import { describeTarget, OutboundError } from './errors.ts';
import { checkAddress, checkUrl, isTrustedOrigin, refusedAddressKind, type ResolvedPolicy } from './policy.ts';

export interface ResolvedName {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to every address it has; `dns.lookup` (the system resolver) by default. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedName[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

export type RedirectMode = 'follow' | 'error' | 'manual';

export interface ExchangeInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly redirect: RedirectMode;
  readonly timeoutMs: number;
}

/** A response whose body is still to be read; the total deadline keeps running until `done()`. */
export interface Exchange {
  readonly response: IncomingMessage;
  readonly url: URL;
  /** The error that ended the exchange early (timeout, abort, body limit), if any. */
  failure(): OutboundError | undefined;
  /** Ends the exchange with `error`: the connection is destroyed and a body reader sees the error. */
  fail(error: OutboundError): void;
  /** Stops the deadline; call once the body is read or abandoned. */
  done(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that must not follow a redirect to another origin (as the Fetch standard drops them). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Sends the request, following redirects as `init.redirect` says, each hop re-checked against the policy. */
export async function startExchange(
  policy: ResolvedPolicy,
  resolve: Resolver,
  first: URL,
  init: ExchangeInit,
): Promise<Exchange> {
  let url = first;
  let failure: OutboundError | undefined;
  let request: ClientRequest | undefined;
  let response: IncomingMessage | undefined;
  const fail = (error: OutboundError) => {
    failure ??= error;
    response?.destroy(failure);
    request?.destroy(failure);
  };
  const timer = setTimeout(
    () =>
      fail(
        new OutboundError(
          'ERR_OUTBOUND_TIMEOUT',
          `${describeTarget(url)} did not finish within ${init.timeoutMs} ms.`,
          {
            target: describeTarget(url),
          },
        ),
      ),
    init.timeoutMs,
  );
  timer.unref();
  const onAbort = () =>
    fail(new OutboundError('ERR_OUTBOUND_ABORTED', 'The request was cancelled.', { target: describeTarget(url) }));
  const done = () => {
    clearTimeout(timer);
    init.signal?.removeEventListener('abort', onAbort);
  };
  if (init.signal?.aborted) {
    done();
    throw new OutboundError('ERR_OUTBOUND_ABORTED', 'The request was cancelled.', { target: describeTarget(url) });
  }
  init.signal?.addEventListener('abort', onAbort, { once: true });

  let hop: Hop = { url, method: init.method, headers: { ...init.headers }, body: init.body };
  try {
    for (let count = 0; ; count++) {
      url = hop.url;
      checkUrl(url, policy);
      const sent = sendOnce(policy, resolve, hop, init.timeoutMs);
      request = sent.request;
      response = await sent.response;
      const location = response.headers.location;
      if (!REDIRECTS.has(response.statusCode ?? 0) || location === undefined || init.redirect === 'manual') break;
      response.resume();
      hop = nextHop(hop, response.statusCode ?? 0, location, init.redirect, count, policy.maxRedirects);
    }
  } catch (error) {
    done();
    request?.destroy();
    throw failure ?? toOutboundError(error, describeTarget(url));
  }
  const final = response;
  return { response: final, url, failure: () => failure, fail, done };
}

/** One request of a chain of redirects. */
interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** The request a redirect leads to, as the Fetch standard rewrites it; throws when it may not be followed. */
function nextHop(hop: Hop, status: number, location: string, mode: RedirectMode, count: number, max: number): Hop {
  const target = describeTarget(hop.url);
  if (mode === 'error') {
    throw new OutboundError('ERR_OUTBOUND_REDIRECT', `${target} answered with a redirect, which is not accepted.`, {
      target,
    });
  }
  if (count >= max) {
    throw new OutboundError('ERR_OUTBOUND_REDIRECT', `${target} redirected more than ${max} times.`, { target });
  }
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new OutboundError('ERR_OUTBOUND_REDIRECT', `${target} redirected to an invalid URL.`, { target });
  }
  let { method, body, headers } = hop;
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    const { 'content-type': _type, 'content-length': _length, ...rest } = headers;
    headers = rest;
  }
  if (url.origin !== hop.url.origin) {
    headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k)));
  }
  return { url, method, headers, body };
}

/** One hop: literal addresses checked up front, names checked as they resolve, the peer checked on connect. */
function sendOnce(
  policy: ResolvedPolicy,
  resolve: Resolver,
  hop: Hop,
  timeoutMs: number,
): { request: ClientRequest | undefined; response: Promise<IncomingMessage> } {
  const { url, method, headers, body } = hop;
  const target = describeTarget(url);
  const trusted = isTrustedOrigin(url, policy);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = parseAddress(hostname) !== undefined;
  if (literal && !trusted) {
    try {
      checkAddress(hostname, policy, target);
    } catch (error) {
      return { request: undefined, response: Promise.reject(error) };
    }
  }
  let lookupFailure: unknown;
  const lookup: LookupFunction = (name, options, callback) => {
    resolve(name)
      .then((found) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const addresses = found.filter((a) => family === undefined || a.family === family);
        if (addresses.length === 0) {
          throw new OutboundError('ERR_OUTBOUND_DNS', `The host of ${target} has no address.`, { target });
        }
        // Every address must pass, so a name that mixes public and private answers cannot slip through.
        if (!trusted) for (const a of addresses) checkAddress(a.address, policy, target);
        const [firstAddress] = addresses as [ResolvedName, ...ResolvedName[]];
        if (options.all)
          callback(
            null,
            addresses.map((a) => ({ address: a.address, family: a.family })),
          );
        else callback(null, firstAddress.address, firstAddress.family);
      })
      .catch((error: unknown) => {
        lookupFailure = error;
        callback(error as NodeJS.ErrnoException, '');
      });
  };
  const https = url.protocol === 'https:';
  const request = (https ? httpsRequest : httpRequest)({
    protocol: url.protocol,
    hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: `${url.pathname}${url.search}`,
    method,
    headers: { ...headers, host: url.host, 'accept-encoding': 'identity' },
    agent: false,
    lookup,
    ...(https && !literal ? { servername: hostname } : {}),
  });
  const connectTimeoutMs = Math.min(policy.connectTimeoutMs, timeoutMs);
  const connectTimer = setTimeout(() => {
    request.destroy(
      new OutboundError(
        'ERR_OUTBOUND_TIMEOUT',
        `${target} did not accept a connection within ${connectTimeoutMs} ms.`,
        {
          target,
        },
      ),
    );
  }, connectTimeoutMs);
  connectTimer.unref();
  request.on('socket', (socket: Socket) => {
    socket.once('connect', () => {
      // The lookup checked the name; this checks the address actually connected to, whatever the path.
      const remote = socket.remoteAddress;
      const refused = !trusted && (remote === undefined || refusedAddressKind(remote, policy) !== undefined);
      if (refused) {
        request.destroy(
          new OutboundError('ERR_OUTBOUND_ADDRESS', `${target} connected to an address the policy does not allow.`, {
            target,
          }),
        );
      } else if (!https) clearTimeout(connectTimer);
    });
    if (https) socket.once('secureConnect', () => clearTimeout(connectTimer));
  });
  const response = new Promise<IncomingMessage>((resolveResponse, reject) => {
    request.once('response', (res) => {
      clearTimeout(connectTimer);
      resolveResponse(res);
    });
    request.once('error', (error) => {
      clearTimeout(connectTimer);
      reject(lookupFailure instanceof OutboundError ? lookupFailure : toOutboundError(error, target));
    });
  });
  request.end(body);
  return { request, response };
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME']);

/** Maps a network error to the catalogue; the message names the target and the system code only. */
export function toOutboundError(error: unknown, target: string): OutboundError {
  if (error instanceof OutboundError) return error;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (DNS_CODES.has(code)) {
    return new OutboundError('ERR_OUTBOUND_DNS', `The host of ${target} does not resolve.`, { target, cause: error });
  }
  const detail = /^[A-Z0-9_]{2,40}$/.test(code) ? ` (${code})` : '';
  return new OutboundError('ERR_OUTBOUND_CONNECT', `${target} could not be reached${detail}.`, {
    target,
    cause: error,
  });
}
