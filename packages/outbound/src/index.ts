// Public surface of @sealroom/outbound: the one client every outbound HTTP(S) request goes through.
export { OUTBOUND_ERRORS, OutboundError, describeTarget } from './errors.ts';
export type { OutboundErrorCode } from './errors.ts';
export { classifyAddress, parseAddress, parseRange } from './address.ts';
export type { AddressKind, AddressRange } from './address.ts';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  allowsHttp,
  isLoopbackHost,
  resolvePolicy,
} from './policy.ts';
export type { OutboundPolicy, ResolvedPolicy } from './policy.ts';
export { createOutboundClient } from './client.ts';
export type {
  BufferedResponse,
  GetOptions,
  OutboundClient,
  OutboundClientOptions,
  OutboundFetch,
  OutboundFetchInit,
} from './client.ts';
export type { RedirectMode, ResolvedName, Resolver } from './exchange.ts';
