// The outbound policy: which URLs and resolved addresses a request may reach, and its limits.
import {
  type AddressKind,
  type AddressRange,
  classifyAddress,
  embeddedIpv4,
  parseAddress,
  parseRange,
  rangeContains,
} from './address.ts';
import { describeTarget, OutboundError } from './errors.ts';

export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface OutboundPolicy {
  /** Hosts (`host` or `host:port`) that may be reached over plain http; everything else must be https. */
  readonly httpHosts?: readonly string[];
  /** CIDR ranges or addresses that may be reached although they are not public (loopback, private, …). */
  readonly allowedRanges?: readonly string[];
  /** Dev mode: loopback hosts and addresses may be reached, over plain http too. */
  readonly allowLoopback?: boolean;
  /**
   * Origins (`scheme://host[:port]`) the operator configured itself (the deployment's own URL, the
   * endpoint a client was pointed at): reachable whatever they resolve to, over the scheme they name.
   */
  readonly trustedOrigins?: readonly string[];
  readonly maxRedirects?: number;
  /** Name resolution, TCP connect and TLS handshake of one hop. */
  readonly connectTimeoutMs?: number;
  /** The whole request: every hop, the response and its body. */
  readonly timeoutMs?: number;
  readonly maxBodyBytes?: number;
}

export interface ResolvedPolicy {
  readonly httpHosts: ReadonlySet<string>;
  readonly allowedRanges: readonly AddressRange[];
  readonly allowLoopback: boolean;
  readonly trustedOrigins: ReadonlySet<string>;
  readonly maxRedirects: number;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

/** Validates and normalises a policy; a bad entry throws ERR_OUTBOUND_POLICY naming it. */
export function resolvePolicy(policy: OutboundPolicy = {}): ResolvedPolicy {
  const positive = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min)
      throw new OutboundError('ERR_OUTBOUND_POLICY', `${name} must be an integer of at least ${min}.`);
    return v;
  };
  const origins = new Set<string>();
  for (const text of policy.trustedOrigins ?? []) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' is not an origin.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' is not an http(s) origin.`);
    origins.add(url.origin);
  }
  return {
    httpHosts: new Set((policy.httpHosts ?? []).map(normaliseHostEntry)),
    allowedRanges: (policy.allowedRanges ?? []).map(parseRange),
    allowLoopback: policy.allowLoopback ?? false,
    trustedOrigins: origins,
    maxRedirects: positive('maxRedirects', policy.maxRedirects, DEFAULT_MAX_REDIRECTS, 0),
    connectTimeoutMs: positive('connectTimeoutMs', policy.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    timeoutMs: positive('timeoutMs', policy.timeoutMs, DEFAULT_TIMEOUT_MS),
    maxBodyBytes: positive('maxBodyBytes', policy.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
  };
}

function normaliseHostEntry(text: string): string {
  const entry = text.trim().toLowerCase();
  let url: URL;
  try {
    url = new URL(`http://${entry}`);
  } catch {
    throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' is not a host or host:port.`);
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash || url.host === '') {
    throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' is not a host or host:port.`);
  }
  // `host:80` is written `host` by the URL parser; keep what was asked for.
  return /:\d+$/.test(entry) ? `${url.hostname}:${url.port || '80'}` : url.hostname;
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped): the hosts dev mode lets through. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const address = parseAddress(host);
  return address !== undefined && classifyAddress(address) === 'loopback';
}

/** Whether `url` is one of the operator's trusted origins (no scheme or address rules apply to it). */
export function isTrustedOrigin(url: URL, policy: ResolvedPolicy): boolean {
  return policy.trustedOrigins.has(url.origin);
}

/** Whether plain http may be used for this URL's host. */
export function allowsHttp(url: URL, policy: ResolvedPolicy): boolean {
  if (isTrustedOrigin(url, policy)) return true;
  if (policy.allowLoopback && isLoopbackHost(url.hostname)) return true;
  const host = url.hostname.toLowerCase();
  return policy.httpHosts.has(host) || policy.httpHosts.has(`${host}:${url.port || '80'}`);
}

/** Refuses URLs the policy forbids before any connection: scheme, credentials, plain http. */
export function checkUrl(url: URL, policy: ResolvedPolicy): void {
  const target = describeTarget(url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OutboundError('ERR_OUTBOUND_URL', `Only http(s) URLs may be fetched, not ${url.protocol}.`, { target });
  }
  if (url.username !== '' || url.password !== '') {
    throw new OutboundError('ERR_OUTBOUND_URL', `The URL for ${target} carries credentials.`, { target });
  }
  if (url.protocol === 'http:' && !allowsHttp(url, policy)) {
    throw new OutboundError(
      'ERR_OUTBOUND_URL',
      `Plain http to ${url.host} is not allowed; use https or add the host to the http allow-list.`,
      { target },
    );
  }
}

/** The class of `address` when the policy refuses it, undefined when it may be reached. */
export function refusedAddressKind(address: string, policy: ResolvedPolicy): AddressKind | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return 'reserved';
  const kind = classifyAddress(parsed);
  if (kind === 'public') return undefined;
  if (kind === 'loopback' && policy.allowLoopback) return undefined;
  const inner = embeddedIpv4(parsed);
  const forms = inner ? [parsed, inner] : [parsed];
  if (policy.allowedRanges.some((r) => forms.some((form) => rangeContains(r, form)))) return undefined;
  return kind;
}

export function checkAddress(address: string, policy: ResolvedPolicy, target: string): void {
  const kind = refusedAddressKind(address, policy);
  if (kind === undefined) return;
  throw new OutboundError(
    'ERR_OUTBOUND_ADDRESS',
    `${target} resolves to a ${kind} address, which the outbound policy does not allow.`,
    { target },
  );
}
