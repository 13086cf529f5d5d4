// IPv4 addresses and CIDR ranges as numbers: parsing, containment and overlap (RFC 4632 prefixes).

export interface Ipv4Range {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `a.b.c.d` → unsigned 32-bit number; undefined when it is not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff - (2 ** (32 - prefix) - 1)) >>> 0;
}

/**
 * `a.b.c.d/n` (or a bare address, /32) → range. With `strict`, host bits must be zero, as Compute Engine
 * requires of firewall ranges; otherwise they are cleared.
 */
export function parseCidr(text: string, options: { strict?: boolean } = {}): Ipv4Range | undefined {
  const [addressText = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const address = parseIpv4(addressText);
  if (address === undefined) return undefined;
  if (prefixText !== undefined && !/^(3[0-2]|[12]?\d)$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  const base = (address & maskOf(prefix)) >>> 0;
  if (options.strict && base !== address) return undefined;
  return { base, prefix };
}

export function formatCidr(range: Ipv4Range): string {
  return `${formatIpv4(range.base)}/${range.prefix}`;
}

export function rangeSize(range: Ipv4Range): number {
  return 2 ** (32 - range.prefix);
}

export function rangeContains(range: Ipv4Range, address: number): boolean {
  return address >= range.base && address < range.base + rangeSize(range);
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.base < b.base + rangeSize(b) && b.base < a.base + rangeSize(a);
}
