// The per-host pool of instance links: a private range carved into /30s (network, gateway, instance, broadcast).
import { type Ipv4Range, formatIpv4, parseCidr, rangeSize, rangesOverlap } from './cidr.ts';

/** The default pool: 16,384 links of 2 usable addresses each, in a block rarely routed elsewhere. */
export const DEFAULT_ADDRESS_POOL = '10.213.0.0/16';
const LINK_PREFIX = 30;
const LINK_SIZE = 4;

export interface InstanceLink {
  /** The slot of the pool (0-based); names the host's interfaces and nft chains. */
  readonly slot: number;
  /** The /30 of the link, e.g. `10.213.0.0/30`. */
  readonly subnet: string;
  /** The host side of the veth pair, the instance's default gateway. */
  readonly gatewayAddress: string;
  /** The instance side (its `eth0`). */
  readonly instanceAddress: string;
}

/** Parses the pool: an IPv4 CIDR with room for at least one /30. */
export function parseAddressPool(text: string): Ipv4Range | undefined {
  const range = parseCidr(text, { strict: true });
  return range && range.prefix <= LINK_PREFIX ? range : undefined;
}

export function linkOfSlot(pool: Ipv4Range, slot: number): InstanceLink {
  const base = pool.base + slot * LINK_SIZE;
  return {
    slot,
    subnet: `${formatIpv4(base)}/${LINK_PREFIX}`,
    gatewayAddress: formatIpv4(base + 1),
    instanceAddress: formatIpv4(base + 2),
  };
}

/**
 * The first slot neither used by this host nor overlapping a range the host already routes (another
 * bridge, a VPN, another Sealroom host's links); undefined when the pool is exhausted.
 */
export function pickLinkSlot(
  pool: Ipv4Range,
  inUse: ReadonlySet<number>,
  routed: readonly Ipv4Range[],
): number | undefined {
  const slots = rangeSize(pool) / LINK_SIZE;
  for (let slot = 0; slot < slots; slot += 1) {
    if (inUse.has(slot)) continue;
    const link: Ipv4Range = { base: pool.base + slot * LINK_SIZE, prefix: LINK_PREFIX };
    // A default route (0.0.0.0/0) overlaps everything and says nothing about the pool: it is skipped.
    if (routed.some((r) => r.prefix > 0 && rangesOverlap(r, link))) continue;
    return slot;
  }
  return undefined;
}

/** The destinations of `ip -j route show table all` (and addresses of `ip -j addr`), as ranges. */
export function routedRanges(routes: readonly { dst?: string }[]): Ipv4Range[] {
  const ranges: Ipv4Range[] = [];
  for (const route of routes) {
    if (!route.dst || route.dst === 'default') continue;
    const range = parseCidr(route.dst);
    if (range) ranges.push(range);
  }
  return ranges;
}
