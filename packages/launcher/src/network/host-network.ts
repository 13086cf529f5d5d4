// The host side of instance isolation: a network namespace per instance joined to the host by a veth pair,
// NAT for egress, published EXPOSE ports, and the firewall rules, all in one nftables table per host.
import { writeFile } from 'node:fs/promises';
import type { Logger } from '@sealroom/core';
import { LauncherError } from '../errors.ts';
import {
  DEFAULT_ADDRESS_POOL,
  type InstanceLink,
  linkOfSlot,
  parseAddressPool,
  pickLinkSlot,
  routedRanges,
} from './address-pool.ts';
import { execTool, mustRun } from './commands.ts';
import { type ExposedPort, parseExposedPorts } from './exposed-ports.ts';
import { type FirewallRule, type FirewallTarget, rulesForInstance } from './firewall.ts';
import { type InstanceTable, type PublishedPort, renderBridgeTable, renderHostTable } from './nft-rules.ts';
import { type PortReservation, reserveHostPort } from './port-reservation.ts';
import { openLinkClaims } from './link-claims.ts';

/** What other parts of the host need of an instance's network (the metadata server binds to the gateway). */
export interface InstanceNetwork {
  /** `/run/netns/NAME`: the runc spec joins it (`linux.namespaces` network with `path`). */
  readonly netnsPath: string;
  readonly gatewayAddress: string;
  readonly instanceAddress: string;
  readonly publishedPorts: readonly PublishedPort[];
}

export interface AttachOptions {
  /** The project's firewall rules (all of them: the host picks those that target this instance). */
  readonly rules: readonly FirewallRule[];
  readonly tags: readonly string[];
  readonly serviceAccount: string;
  /** Host loopback TCP ports the instance reaches at its own 127.0.0.1 (the control plane on a laptop). */
  readonly bridgePorts?: readonly number[];
}

export interface HostNetworkOptions {
  /** The per-host pool carved into /30 links (default DEFAULT_ADDRESS_POOL). */
  readonly pool?: string;
  /** Six lowercase hex digits naming this host's namespaces, interfaces and table (two hosts on one machine differ). */
  readonly hostTag: string;
  /** Gateway TCP ports always open to instances (the metadata server). */
  readonly gatewayPorts?: readonly number[];
  /** Where the machine's hosts claim links (default DEFAULT_CLAIMS_DIR; tests use their own). */
  readonly claimsDir?: string;
  readonly logger?: Logger;
}

export interface HostNetwork {
  readonly pool: string;
  attach(instanceId: string, options: AttachOptions): Promise<InstanceNetwork>;
  /** Publishes the image's EXPOSEd ports (`N/tcp`, `N/udp`, `N`) on the host and opens them in the instance's filter. */
  publish(instanceId: string, exposedPorts: readonly string[]): Promise<InstanceNetwork>;
  /** Replaces the project's rules for a running instance (a rule was created or deleted). */
  setFirewall(instanceId: string, rules: readonly FirewallRule[]): Promise<void>;
  get(instanceId: string): InstanceNetwork | undefined;
  /** Removes the namespace, the veth pair, the rules and the port reservations of the instance. */
  release(instanceId: string): Promise<void>;
  close(): Promise<void>;
}

interface Attached {
  readonly link: InstanceLink;
  readonly netns: string;
  readonly hostInterface: string;
  readonly target: FirewallTarget;
  readonly bridgePorts: readonly number[];
  rules: readonly FirewallRule[];
  exposed: readonly ExposedPort[];
  published: PublishedPort[];
  reservations: PortReservation[];
}

const HOST_TAG = /^[0-9a-f]{6}$/;

/** Why this host cannot isolate instances (undefined when it can): root, `ip netns` and `nft` are needed. */
export async function probeNetworkIsolation(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the host agent does not run as root';
  const ip = await execTool('ip', ['netns', 'list']);
  if (ip.code !== 0) return ip.code === null ? 'the ip command (iproute2) is not installed' : 'ip netns is unavailable';
  const nft = await execTool('nft', ['list', 'tables']);
  if (nft.code !== 0) return nft.code === null ? 'nft (nftables) is not installed' : 'nftables is unavailable';
  return undefined;
}

/** Names of this host's leftovers, for the start-up clean-up. */
export function hostNames(hostTag: string) {
  return {
    table: `sealroom_${hostTag}`,
    netnsPrefix: `sealroom-${hostTag}-`,
    interfacePrefix: `sn${hostTag}`,
  };
}

/**
 * Prepares the host (IPv4 forwarding on, leftovers of a crashed run removed) and returns the manager.
 * Fails with ERR_LAUNCHER_NETWORK when a step fails.
 */
export async function createHostNetwork(options: HostNetworkOptions): Promise<HostNetwork> {
  if (!HOST_TAG.test(options.hostTag))
    throw new LauncherError('ERR_LAUNCHER_NETWORK', 'the host tag must be six lowercase hex digits');
  const poolText = options.pool ?? DEFAULT_ADDRESS_POOL;
  const pool = parseAddressPool(poolText);
  if (!pool)
    throw new LauncherError(
      'ERR_LAUNCHER_NETWORK',
      `the address pool '${poolText}' is not an IPv4 range of /30 or larger`,
    );
  const names = hostNames(options.hostTag);
  const gatewayPorts = options.gatewayPorts ?? [];
  const claims = openLinkClaims(options.claimsDir);
  await removeLeftovers(options.hostTag);
  // Routing between the instances' links and the host's uplink.
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n').catch((error: unknown) => {
    throw new LauncherError('ERR_LAUNCHER_NETWORK', 'cannot enable IPv4 forwarding', { cause: error });
  });
  const attached = new Map<string, Attached>();
  let queue: Promise<unknown> = Promise.resolve();
  /** One change at a time: slots are picked and the table is replaced without races. */
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const viewOf = (a: Attached): InstanceNetwork => ({
    netnsPath: `/run/netns/${a.netns}`,
    gatewayAddress: a.link.gatewayAddress,
    instanceAddress: a.link.instanceAddress,
    publishedPorts: [...a.published],
  });
  const tableOf = (a: Attached): InstanceTable => ({
    link: a.link,
    hostInterface: a.hostInterface,
    exposed: a.exposed,
    published: a.published,
    ingress: rulesForInstance(a.rules, a.target, 'INGRESS'),
    egress: rulesForInstance(a.rules, a.target, 'EGRESS'),
    gatewayPorts,
    bridgePorts: a.bridgePorts,
  });
  const applyTable = async () => {
    // No instance, no rule: the table goes with the last one.
    if (attached.size === 0) {
      await execTool('nft', ['delete', 'table', 'inet', names.table]);
      return;
    }
    const tables = [...attached.values()].map(tableOf);
    await mustRun('replace the nftables table', 'nft', ['-f', '-'], renderHostTable(names.table, tables));
  };

  const attachNow = async (instanceId: string, attach: AttachOptions): Promise<InstanceNetwork> => {
    if (attached.has(instanceId)) throw new LauncherError('ERR_LAUNCHER_NETWORK', 'the instance already has a network');
    const routes = JSON.parse(
      (await mustRun('read routes', 'ip', ['-4', '-j', 'route', 'show', 'table', 'all'])).stdout || '[]',
    ) as { dst?: string }[];
    const inUse = new Set([...attached.values()].map((a) => a.link.slot));
    const routed = routedRanges(routes);
    let slot: number | undefined;
    // The first free slot no other host on this machine has claimed (they read the same routes).
    for (;;) {
      slot = pickLinkSlot(pool, inUse, routed);
      if (slot === undefined || (await claims.claim(linkOfSlot(pool, slot).subnet))) break;
      inUse.add(slot);
    }
    if (slot === undefined)
      throw new LauncherError('ERR_LAUNCHER_NETWORK', `the address pool ${poolText} is exhausted`);
    const link = linkOfSlot(pool, slot);
    const netns = `${names.netnsPrefix}${slot}`;
    const hostInterface = `${names.interfacePrefix}${slot}`;
    const peer = `${hostInterface}p`;
    const entry: Attached = {
      link,
      netns,
      hostInterface,
      target: { tags: attach.tags, serviceAccount: attach.serviceAccount, address: link.instanceAddress },
      bridgePorts: [...new Set(attach.bridgePorts ?? [])].sort((a, b) => a - b),
      rules: attach.rules,
      exposed: [],
      published: [],
      reservations: [],
    };
    try {
      await mustRun('create the namespace', 'ip', ['netns', 'add', netns]);
      await mustRun('create the veth pair', 'ip', ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', peer]);
      await mustRun('move the veth end', 'ip', ['link', 'set', peer, 'netns', netns]);
      const inNs = ['-n', netns];
      await mustRun('name eth0', 'ip', [...inNs, 'link', 'set', peer, 'name', 'eth0']);
      await setSysctl(null, `net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
      // The bridge DNATs the instance's traffic for the gateway to the host's loopback.
      await setSysctl(null, `net/ipv4/conf/${hostInterface}/route_localnet`, '1');
      await mustRun('address the gateway', 'ip', ['addr', 'add', `${link.gatewayAddress}/30`, 'dev', hostInterface]);
      await mustRun('raise the host end', 'ip', ['link', 'set', hostInterface, 'up']);
      await setSysctl(netns, 'net.ipv6.conf.all.disable_ipv6', '1');
      await setSysctl(netns, 'net.ipv4.conf.all.route_localnet', '1');
      await mustRun('address the instance', 'ip', [
        ...inNs,
        'addr',
        'add',
        `${link.instanceAddress}/30`,
        'dev',
        'eth0',
      ]);
      await mustRun('raise eth0', 'ip', [...inNs, 'link', 'set', 'eth0', 'up']);
      await mustRun('raise lo', 'ip', [...inNs, 'link', 'set', 'lo', 'up']);
      await mustRun('route via the gateway', 'ip', [...inNs, 'route', 'add', 'default', 'via', link.gatewayAddress]);
      if (entry.bridgePorts.length > 0)
        await mustRun(
          'bridge the control plane',
          'ip',
          ['netns', 'exec', netns, 'nft', '-f', '-'],
          renderBridgeTable(link.gatewayAddress, entry.bridgePorts),
        );
      attached.set(instanceId, entry);
      await applyTable();
    } catch (error) {
      attached.delete(instanceId);
      await removeInstance(entry).catch(() => undefined);
      throw error;
    }
    options.logger?.info({ instanceId, netns, address: link.instanceAddress }, 'instance network attached');
    return viewOf(entry);
  };

  const removeInstance = async (entry: Attached) => {
    await Promise.all(entry.reservations.map((r) => r.release()));
    entry.reservations = [];
    // Deleting the namespace destroys its veth end, and with it the host end.
    await execTool('ip', ['netns', 'del', entry.netns]);
    await execTool('ip', ['link', 'del', entry.hostInterface]);
    await claims.release(entry.link.subnet);
  };

  return {
    pool: poolText,
    attach: (instanceId, attach) => serial(() => attachNow(instanceId, attach)),
    publish: (instanceId, exposedKeys) =>
      serial(async () => {
        const entry = attached.get(instanceId);
        if (!entry) throw new LauncherError('ERR_LAUNCHER_NETWORK', 'the instance has no network to publish on');
        entry.exposed = parseExposedPorts(exposedKeys);
        const taken = (protocol: string) =>
          new Set(
            [...attached.values()].flatMap((a) =>
              a.published.filter((p) => p.protocol === protocol).map((p) => p.hostPort),
            ),
          );
        for (const port of entry.exposed) {
          if (entry.published.some((p) => p.protocol === port.protocol && p.containerPort === port.port)) continue;
          const reservation = await reserveHostPort(port.protocol, port.port, taken(port.protocol)).catch(
            (error: unknown) => {
              throw new LauncherError('ERR_LAUNCHER_NETWORK', `cannot publish ${port.port}/${port.protocol}`, {
                cause: error,
              });
            },
          );
          entry.reservations.push(reservation);
          entry.published.push({ protocol: port.protocol, containerPort: port.port, hostPort: reservation.port });
        }
        await applyTable();
        return viewOf(entry);
      }),
    setFirewall: (instanceId, rules) =>
      serial(async () => {
        const entry = attached.get(instanceId);
        if (!entry) return;
        entry.rules = rules;
        await applyTable();
      }),
    get: (instanceId) => {
      const entry = attached.get(instanceId);
      return entry ? viewOf(entry) : undefined;
    },
    release: (instanceId) =>
      serial(async () => {
        const entry = attached.get(instanceId);
        if (!entry) return;
        attached.delete(instanceId);
        await applyTable().catch((error: unknown) => options.logger?.warn({ error }, 'nftables update failed'));
        await removeInstance(entry);
        options.logger?.info({ instanceId }, 'instance network removed');
      }),
    close: () =>
      serial(async () => {
        for (const entry of attached.values()) await removeInstance(entry);
        attached.clear();
        await execTool('nft', ['delete', 'table', 'inet', names.table]);
      }),
  };
}

/** Writes a sysctl on the host (`netns` null, a /proc/sys path) or in a namespace (`sysctl -w`). */
async function setSysctl(netns: string | null, key: string, value: string): Promise<void> {
  if (netns === null) {
    await writeFile(`/proc/sys/${key}`, `${value}\n`).catch((error: unknown) => {
      throw new LauncherError('ERR_LAUNCHER_NETWORK', `cannot set ${key}`, { cause: error });
    });
    return;
  }
  await mustRun(`set ${key}`, 'ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

/** Removes what a crashed run of this host left: its namespaces, host interfaces and nftables table. */
export async function removeLeftovers(hostTag: string): Promise<string[]> {
  const names = hostNames(hostTag);
  const removed: string[] = [];
  const list = await execTool('ip', ['-j', 'netns', 'list']);
  const namespaces = list.code === 0 && list.stdout.trim() ? (JSON.parse(list.stdout) as { name: string }[]) : [];
  for (const { name } of namespaces) {
    if (!name.startsWith(names.netnsPrefix)) continue;
    await execTool('ip', ['netns', 'del', name]);
    removed.push(`netns ${name}`);
  }
  const links = await execTool('ip', ['-j', 'link', 'show']);
  const interfaces = links.code === 0 && links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : [];
  for (const { ifname } of interfaces) {
    if (!ifname.startsWith(names.interfacePrefix)) continue;
    await execTool('ip', ['link', 'del', ifname]);
    removed.push(`link ${ifname}`);
  }
  const table = await execTool('nft', ['delete', 'table', 'inet', names.table]);
  if (table.code === 0) removed.push(`table ${names.table}`);
  return removed;
}
