// Compute Engine firewall rules as the host enforces them: which rules reach an instance, and the verdict
// for a connection (highest priority first, deny before allow at equal priority, implied rules last).
import { parseCidr, rangeContains } from './cidr.ts';
import { type ExposedPort, isExposed } from './exposed-ports.ts';

export type FirewallDirection = 'INGRESS' | 'EGRESS';
export type FirewallAction = 'allow' | 'deny';

/** IP protocol numbers of the names Compute Engine accepts in `IPProtocol` (IANA protocol numbers). */
export const IP_PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  ipip: 4,
  tcp: 6,
  udp: 17,
  esp: 50,
  ah: 51,
  sctp: 132,
};
/** Only these carry ports. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132]);

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** One `allowed[]`/`denied[]` entry: a protocol (`all` or an IP protocol number) and, for tcp/udp/sctp, ports. */
export interface FirewallMatch {
  readonly protocol: 'all' | number;
  /** Empty = every port. */
  readonly ports: readonly PortRange[];
}

/** A firewall rule reduced to what enforcement needs (the compute service parses Google's shape into it). */
export interface FirewallRule {
  readonly name: string;
  /** 0–65535; lower wins. */
  readonly priority: number;
  readonly direction: FirewallDirection;
  readonly action: FirewallAction;
  readonly matches: readonly FirewallMatch[];
  /** INGRESS: where the connection comes from; EGRESS: the instance's own address must be in it (empty = any). */
  readonly sourceRanges: readonly string[];
  /** EGRESS: where the connection goes; INGRESS: the instance's own address must be in it (empty = any). */
  readonly destinationRanges: readonly string[];
  /** Empty with no service accounts = every instance of the network. */
  readonly targetTags: readonly string[];
  readonly targetServiceAccounts: readonly string[];
  readonly disabled: boolean;
}

export interface FirewallTarget {
  readonly tags: readonly string[];
  readonly serviceAccount: string;
  readonly address: string;
}

/** The priority of Compute Engine's implied rules: allow every egress, deny every ingress. */
export const IMPLIED_RULE_PRIORITY = 65_535;
/**
 * Sealroom's counterpart of the `default` network's pre-populated rules (priority 65534): ingress to the
 * ports the image `EXPOSE`s is allowed from anywhere unless a rule of higher priority denies it.
 */
export const EXPOSED_RULE_PRIORITY = 65_534;

function inRanges(ranges: readonly string[], address: string): boolean {
  const value = parseCidr(address);
  if (!value) return false;
  return ranges.some((text) => {
    const range = parseCidr(text);
    return range !== undefined && rangeContains(range, value.base);
  });
}

/** The enabled rules of one direction that apply to the instance, in evaluation order. */
export function rulesForInstance(
  rules: readonly FirewallRule[],
  target: FirewallTarget,
  direction: FirewallDirection,
): FirewallRule[] {
  return rules
    .filter((rule) => {
      if (rule.disabled || rule.direction !== direction) return false;
      const byTag = rule.targetTags.length > 0 && rule.targetTags.some((t) => target.tags.includes(t));
      const byAccount = rule.targetServiceAccounts.includes(target.serviceAccount);
      const everyone = rule.targetTags.length === 0 && rule.targetServiceAccounts.length === 0;
      if (!(everyone || byTag || byAccount)) return false;
      // The instance's side of the connection is fixed: decide it here rather than per packet.
      const local = direction === 'INGRESS' ? rule.destinationRanges : rule.sourceRanges;
      return local.length === 0 || inRanges(local, target.address);
    })
    .sort(compareRules);
}

/** Lower priority number first; at equal priority a deny comes before an allow (Compute Engine's tie rule). */
export function compareRules(a: FirewallRule, b: FirewallRule): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.action !== b.action) return a.action === 'deny' ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export interface Connection {
  readonly direction: FirewallDirection;
  /** IP protocol number. */
  readonly protocol: number;
  /** Destination port (tcp, udp, sctp). */
  readonly port?: number;
  /** The other end: the source of an ingress connection, the destination of an egress one. */
  readonly remote: string;
}

export interface FirewallVerdict {
  readonly action: FirewallAction;
  /** The deciding rule, or `implied-…` for the implied ones, `not-exposed` for the instance's own filter. */
  readonly rule: string;
}

export function matchesConnection(rule: FirewallRule, connection: Connection): boolean {
  const remote = connection.direction === 'INGRESS' ? rule.sourceRanges : rule.destinationRanges;
  if (remote.length > 0 && !inRanges(remote, connection.remote)) return false;
  return rule.matches.some(
    (m) =>
      (m.protocol === 'all' || m.protocol === connection.protocol) &&
      (m.ports.length === 0 ||
        (connection.port !== undefined && m.ports.some((r) => connection.port! >= r.from && connection.port! <= r.to))),
  );
}

/**
 * The verdict for a new connection of the instance. Ingress first meets the instance's own filter (only
 * `EXPOSE`d ports are open, as Confidential Space opens them with iptables in the VM), then the rules.
 * `rules` are the instance's, as `rulesForInstance` returns them.
 */
export function evaluateFirewall(
  rules: readonly FirewallRule[],
  connection: Connection,
  exposed: readonly ExposedPort[],
): FirewallVerdict {
  if (connection.direction === 'INGRESS' && !isExposed(exposed, connection.protocol, connection.port))
    return { action: 'deny', rule: 'not-exposed' };
  for (const rule of rules) {
    if (rule.direction === connection.direction && matchesConnection(rule, connection))
      return { action: rule.action, rule: rule.name };
  }
  return connection.direction === 'EGRESS'
    ? { action: 'allow', rule: 'implied-allow-egress' }
    : { action: 'allow', rule: 'implied-allow-exposed' };
}
