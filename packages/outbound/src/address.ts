// IP address classes (loopback, private, link-local, metadata, …) and CIDR ranges, for the outbound policy.
import { isIPv4, isIPv6 } from 'node:net';
import { OutboundError } from './errors.ts';

/** What an address is, as far as the outbound policy cares; anything but `public` needs an allow-list entry. */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

export interface ParsedAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** A CIDR range (`10.0.0.0/8`, `fd00::/8`) or one address (`127.0.0.1` = `/32`). */
export interface AddressRange {
  readonly text: string;
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

interface KindRange {
  readonly range: AddressRange;
  readonly kind: AddressKind;
}

function kinds(entries: readonly (readonly [string, AddressKind])[]): KindRange[] {
  return entries.map(([text, kind]) => ({ range: parseRange(text), kind }));
}

// First match wins: the metadata addresses sit inside link-local / unique-local ranges.
const V4_KINDS = kinds([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'private'], // RFC 6598 shared address space (carrier-grade NAT)
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'metadata'], // GCE, AWS, Azure instance metadata
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // RFC 6890 IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // TEST-NET-1
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // TEST-NET-2
  ['203.0.113.0/24', 'reserved'], // TEST-NET-3
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // includes 255.255.255.255
]);

const V6_KINDS = kinds([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'], // AWS instance metadata over IPv6
  ['fc00::/7', 'private'], // unique local
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
  ['100::/64', 'reserved'], // discard-only
  ['2001::/23', 'reserved'], // IETF protocol assignments, Teredo included
  ['2001:db8::/32', 'reserved'], // documentation
]);

/** IPv6 forms that carry an IPv4 address, which is what the connection really reaches or stands for. */
const EMBEDDED_V4: readonly { readonly range: AddressRange; readonly offset: number }[] = [
  { range: parseRange('::ffff:0:0/96'), offset: 12 }, // IPv4-mapped
  { range: parseRange('::/96'), offset: 12 }, // IPv4-compatible (deprecated)
  { range: parseRange('64:ff9b::/96'), offset: 12 }, // NAT64 well-known prefix
  { range: parseRange('64:ff9b:1::/48'), offset: 12 }, // local-use NAT64
  { range: parseRange('2002::/16'), offset: 2 }, // 6to4
];

/** Parses an IPv4 or IPv6 address (brackets and a zone id allowed); undefined when it is not one. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIPv4(bare)) return { family: 4, bytes: Uint8Array.from(bare.split('.').map(Number)) };
  if (!isIPv6(bare)) return undefined;
  return { family: 6, bytes: ipv6Bytes(bare) };
}

function ipv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let body = text;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted?.[1]) {
    tail.push(...dotted[1].split('.').map(Number));
    body = body.slice(0, -dotted[1].length);
    body = body.endsWith('::') ? body : body.replace(/:$/, '');
  }
  const [head = '', rest] = body.split('::') as [string, string | undefined];
  const words = (part: string) => (part === '' ? [] : part.split(':').map((w) => Number.parseInt(w, 16)));
  const front = words(head);
  const back = rest === undefined ? [] : words(rest);
  const total = 8 - tail.length / 2;
  const all =
    rest === undefined ? front : [...front, ...new Array<number>(total - front.length - back.length).fill(0), ...back];
  all.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  tail.forEach((byte, i) => {
    bytes[12 + i] = byte;
  });
  return bytes;
}

/** Parses `ADDRESS/PREFIX` or a single address; throws ERR_OUTBOUND_POLICY naming the text when invalid. */
export function parseRange(text: string): AddressRange {
  const [address = '', prefixText] = text.trim().split('/') as [string, string | undefined];
  const parsed = parseAddress(address);
  if (!parsed) throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' is not an IP address or CIDR range.`);
  const max = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max))
    throw new OutboundError('ERR_OUTBOUND_POLICY', `'${text}' has an invalid prefix length.`);
  return { text: text.trim(), family: parsed.family, bytes: parsed.bytes, prefix };
}

export function rangeContains(range: AddressRange, address: ParsedAddress): boolean {
  if (range.family !== address.family) return false;
  const full = Math.floor(range.prefix / 8);
  for (let i = 0; i < full; i++) if (range.bytes[i] !== address.bytes[i]) return false;
  const bits = range.prefix % 8;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((range.bytes[full] ?? 0) & mask) === ((address.bytes[full] ?? 0) & mask);
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(address: ParsedAddress): ParsedAddress | undefined {
  if (address.family !== 6) return undefined;
  for (const { range, offset } of EMBEDDED_V4) {
    if (!rangeContains(range, address)) continue;
    // `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
    if (offset === 12 && address.bytes.subarray(0, 15).every((b) => b === 0) && (address.bytes[15] ?? 0) <= 1) {
      return undefined;
    }
    return { family: 4, bytes: address.bytes.slice(offset, offset + 4) };
  }
  return undefined;
}

/** Classifies an address; text that is not an address is `reserved` (never reachable without allow-listing). */
export function classifyAddress(text: string | ParsedAddress): AddressKind {
  const parsed = typeof text === 'string' ? parseAddress(text) : text;
  if (!parsed) return 'reserved';
  const inner = embeddedIpv4(parsed);
  if (inner) return classifyAddress(inner);
  const table = parsed.family === 4 ? V4_KINDS : V6_KINDS;
  return table.find((k) => rangeContains(k.range, parsed))?.kind ?? 'public';
}
