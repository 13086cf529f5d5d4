// Renders the host's nftables table: per instance, published ports (DNAT), egress masquerade, the loopback
// bridge to the control plane, and the firewall chains in evaluation order. One table is replaced atomically.
import type { InstanceLink } from './address-pool.ts';
import { type ExposedPort, protocolNumber } from './exposed-ports.ts';
import { type FirewallRule, type FirewallMatch, PORT_PROTOCOLS } from './firewall.ts';

export interface PublishedPort {
  readonly protocol: 'tcp' | 'udp';
  /** The port the workload listens on (the image's EXPOSE). */
  readonly containerPort: number;
  /** The port on the host's addresses that reaches it. */
  readonly hostPort: number;
}

export interface InstanceTable {
  readonly link: InstanceLink;
  /** The host side of the veth pair. */
  readonly hostInterface: string;
  readonly exposed: readonly ExposedPort[];
  readonly published: readonly PublishedPort[];
  /** The instance's INGRESS and EGRESS rules, each in evaluation order (`rulesForInstance`). */
  readonly ingress: readonly FirewallRule[];
  readonly egress: readonly FirewallRule[];
  /** TCP ports of the gateway always open to the instance (its metadata server), whatever the rules. */
  readonly gatewayPorts: readonly number[];
  /** TCP ports of the host's loopback the instance reaches at its own 127.0.0.1 (the control plane). */
  readonly bridgePorts: readonly number[];
}

/** A refused connection fails at once (TCP reset, else ICMP port unreachable) rather than timing out. */
const REFUSE = 'reject';
const set = (items: readonly (string | number)[]) => (items.length === 1 ? `${items[0]}` : `{ ${items.join(', ')} }`);
const quote = (text: string) => `"${text.replace(/[^A-Za-z0-9_.:/ -]/g, '_')}"`;

function matchClauses(match: FirewallMatch): string {
  if (match.protocol === 'all') return '';
  const ports = match.ports.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`));
  const proto = `meta l4proto ${match.protocol}`;
  return ports.length > 0 && PORT_PROTOCOLS.has(match.protocol) ? `${proto} th dport ${set(ports)}` : proto;
}

/** One nft line per (rule, allowed/denied entry): the remote range, protocol and ports, then the verdict. */
export function renderRule(rule: FirewallRule, remoteField: 'saddr' | 'daddr'): string[] {
  const ranges = rule.direction === 'INGRESS' ? rule.sourceRanges : rule.destinationRanges;
  const remote = ranges.length > 0 ? `ip ${remoteField} ${set(ranges)} ` : '';
  const verdict = rule.action === 'allow' ? 'return' : REFUSE;
  return rule.matches.map((m) => {
    const clauses = matchClauses(m);
    return `${remote}${clauses}${clauses ? ' ' : ''}${verdict} comment ${quote(`firewall ${rule.name}`)}`.trim();
  });
}

function chainsOf(t: InstanceTable): string[] {
  const s = t.link.slot;
  const notExposed =
    t.exposed.length === 0
      ? `${REFUSE} comment "no EXPOSEd port"`
      : `meta l4proto . th dport != { ${t.exposed.map((e) => `${protocolNumber(e.protocol)} . ${e.port}`).join(', ')} } ${REFUSE} comment "not EXPOSEd"`;
  return [
    `  chain egress_${s} {`,
    '    ct state established,related return',
    '    ct state invalid drop',
    '    meta nfproto ipv6 drop',
    ...t.egress.flatMap((r) => renderRule(r, 'daddr').map((line) => `    ${line}`)),
    '    return comment "implied allow egress"',
    '  }',
    `  chain ingress_${s} {`,
    '    ct state established,related return',
    '    ct state invalid drop',
    '    meta nfproto ipv6 drop',
    `    ${notExposed}`,
    ...t.ingress.flatMap((r) => renderRule(r, 'saddr').map((line) => `    ${line}`)),
    '    return comment "EXPOSEd port"',
    '  }',
    `  chain host_${s} {`,
    '    ct state established,related return',
    ...(t.gatewayPorts.length > 0
      ? [`    ip daddr ${t.link.gatewayAddress} tcp dport ${set(t.gatewayPorts)} return comment "metadata server"`]
      : []),
    '    ct status dnat return comment "control-plane bridge"',
    `    jump egress_${s}`,
    '  }',
  ];
}

/**
 * The whole table: base chains dispatch by interface to per-instance chains. `delete table` and the new
 * definition go in one `nft -f` transaction, so rules never half-apply.
 */
export function renderHostTable(table: string, instances: readonly InstanceTable[]): string {
  const dnat = (t: InstanceTable) =>
    t.published.map(
      (p) =>
        `    meta nfproto ipv4 fib daddr type local ${p.protocol} dport ${p.hostPort} dnat ip to ${t.link.instanceAddress}:${p.containerPort}`,
    );
  const lines = [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...instances.flatMap((t) => [
      ...(t.bridgePorts.length > 0
        ? [
            `    iifname ${quote(t.hostInterface)} ip daddr ${t.link.gatewayAddress} tcp dport ${set(t.bridgePorts)} dnat ip to 127.0.0.1`,
          ]
        : []),
      ...dnat(t),
    ]),
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    ...instances.flatMap(dnat),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...instances.flatMap((t) => [
      `    ip saddr ${t.link.instanceAddress} oifname != ${quote(t.hostInterface)} masquerade`,
      `    oifname ${quote(t.hostInterface)} ip saddr 127.0.0.0/8 masquerade`,
    ]),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...instances.flatMap((t) => [
      `    iifname ${quote(t.hostInterface)} jump egress_${t.link.slot}`,
      `    oifname ${quote(t.hostInterface)} jump ingress_${t.link.slot}`,
    ]),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...instances.map((t) => `    iifname ${quote(t.hostInterface)} jump host_${t.link.slot}`),
    '  }',
    '  chain host_output {',
    '    type filter hook output priority filter; policy accept;',
    ...instances.map((t) => `    oifname ${quote(t.hostInterface)} jump ingress_${t.link.slot}`),
    '  }',
    ...instances.flatMap(chainsOf),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

/** The table inside the instance's namespace: its 127.0.0.1:PORT of the control plane goes to the gateway. */
export function renderBridgeTable(gatewayAddress: string, ports: readonly number[]): string {
  return [
    'table ip sealroom_bridge {',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    ip daddr 127.0.0.1 tcp dport ${set(ports)} dnat to ${gatewayAddress}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    oifname "eth0" ip saddr 127.0.0.0/8 masquerade',
    '  }',
    '}',
    '',
  ].join('\n');
}
