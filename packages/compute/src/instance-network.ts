// The embedded host's instance networks: isolation when it can (root, runc, ip netns, nftables), the host
// network otherwise, and what the operator sees of either (serial lines, the instance's network facts).
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { Logger } from '@sealroom/core';
import {
  type ContainerConfig,
  type FirewallRule,
  type HostNetwork,
  type InstanceNetwork,
  type RuntimeKind,
  createHostNetwork,
  parseExposedPorts,
  probeNetworkIsolation,
} from '@sealroom/launcher';
import type { BootRequest, InstanceEvents, InstanceNetworkFacts } from './host-agent.ts';

export type NetworkMode = 'auto' | 'isolated' | 'host';

export interface NetworkSettings {
  /** `auto` isolates where the host can; `isolated` refuses to boot without; `host` never isolates. */
  readonly mode: NetworkMode;
  /** A production deployment: `auto` refuses to boot without isolation (only an explicit `host` allows it). */
  readonly requireIsolation: boolean;
  readonly pool?: string;
  /** Six hex digits naming this host's namespaces, interfaces and table. */
  readonly hostTag: string;
  /** Loopback TCP ports of the control plane the workload reaches at its own 127.0.0.1. */
  readonly bridgePorts?: () => readonly number[];
  /** Gateway TCP ports always open to instances (the metadata server). */
  readonly gatewayPorts?: readonly number[];
}

export interface BootNetwork {
  /** The namespace facts for the metadata server and the runtime; undefined on the host network. */
  readonly network: InstanceNetwork | undefined;
  /** Publishes the EXPOSEd ports and points the container at the namespace. */
  prepareContainer(config: ContainerConfig): Promise<ContainerConfig>;
  release(): Promise<void>;
}

export interface InstanceNetworks {
  /** Sets up the network of one boot; undefined (with a serial line saying why) when the boot must not go on. */
  attach(request: BootRequest, runtime: RuntimeKind, events: InstanceEvents): Promise<BootNetwork | undefined>;
  setFirewall(instanceId: string, rules: readonly FirewallRule[]): Promise<void>;
  get(instanceId: string): InstanceNetwork | undefined;
  close(): Promise<void>;
}

/** The six hex digits naming a host's namespaces, interfaces and table, from its state directory. */
export function hostTagOf(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 6);
}

/** The host's first non-loopback IPv4 address: what `natIP` reports (published ports answer on every address). */
export function hostAddress(): string | undefined {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    // The host ends of instance links (`sn<tag><slot>`) are gateways, not the host's address.
    if (/^sn[0-9a-f]{6}\d+$/.test(name)) continue;
    for (const nic of list ?? []) if (nic.family === 'IPv4' && !nic.internal) return nic.address;
  }
  return undefined;
}

export function createInstanceNetworks(settings: NetworkSettings, logger: Logger): InstanceNetworks {
  let host: Promise<{ network?: HostNetwork; reason?: string }> | undefined;
  /** The manager once ready, for synchronous reads (the metadata server asks for an instance's addresses). */
  let resolved: HostNetwork | undefined;
  const ready = () => {
    host ??= (async () => {
      if (settings.mode === 'host')
        return { reason: 'the deployment runs instances on the host network (compute.network=host)' };
      const reason = await probeNetworkIsolation();
      if (reason) return { reason };
      try {
        const network = await createHostNetwork({
          hostTag: settings.hostTag,
          ...(settings.pool === undefined ? {} : { pool: settings.pool }),
          ...(settings.gatewayPorts === undefined ? {} : { gatewayPorts: settings.gatewayPorts }),
          logger,
        });
        resolved = network;
        return { network };
      } catch (error) {
        logger.error({ error }, 'the host network could not be prepared');
        return { reason: `the host network could not be prepared (${(error as Error).message})` };
      }
    })();
    return host;
  };
  // Leftovers of a crashed run go at start-up, not at the first boot.
  if (settings.mode !== 'host') void ready();

  const factsOf = (view: InstanceNetwork | undefined, reason?: string): InstanceNetworkFacts => {
    const natIP = hostAddress();
    return view
      ? {
          isolation: 'namespace',
          networkIP: view.instanceAddress,
          gatewayAddress: view.gatewayAddress,
          ...(natIP ? { natIP } : {}),
          publishedPorts: view.publishedPorts.map((p) => ({ ...p })),
        }
      : { isolation: 'none', ...(reason ? { reason } : {}), ...(natIP ? { natIP } : {}), publishedPorts: [] };
  };

  return {
    async attach(request, runtime, events) {
      const { network, reason: hostReason } = await ready();
      const reason = !network
        ? hostReason
        : runtime !== 'runc'
          ? `the ${runtime} runtime cannot join a namespace`
          : undefined;
      if (!network || reason) {
        const refuse = settings.mode === 'isolated' || (settings.mode === 'auto' && settings.requireIsolation);
        if (refuse) {
          events.serial(
            `sealroom: refusing to boot without network isolation: ${reason}; set compute.network=host to allow it`,
          );
          return undefined;
        }
        events.serial(`sealroom: network isolation: none (${reason}): the workload shares the host network`);
        events.network?.(factsOf(undefined, reason));
        return {
          network: undefined,
          async prepareContainer(config) {
            const exposed = parseExposedPorts(config.exposedPorts ?? []);
            if (exposed.length > 0)
              events.serial(
                `sealroom: EXPOSEd ports on the host network: ${exposed.map((e) => `${e.port}/${e.protocol}`).join(', ')}`,
              );
            events.network?.({
              ...factsOf(undefined, reason),
              publishedPorts: exposed.map((e) => ({ protocol: e.protocol, containerPort: e.port, hostPort: e.port })),
            });
            return config;
          },
          release: async () => {},
        };
      }
      let view: InstanceNetwork;
      try {
        view = await network.attach(request.instanceId, {
          rules: request.firewall ?? [],
          tags: request.tags ?? [],
          serviceAccount: request.serviceAccountEmail,
          bridgePorts: settings.bridgePorts?.() ?? [],
        });
      } catch (error) {
        logger.error({ instanceId: request.instanceId, error }, 'instance network failed');
        events.serial(`sealroom: the instance network could not be created: ${(error as Error).message}`);
        return undefined;
      }
      events.serial(
        `sealroom: network isolation: namespace, address ${view.instanceAddress} via gateway ${view.gatewayAddress}`,
      );
      events.network?.(factsOf(view));
      return {
        network: view,
        async prepareContainer(config) {
          const published = await network.publish(request.instanceId, config.exposedPorts ?? []);
          const at = hostAddress() ?? 'the host';
          for (const p of published.publishedPorts)
            events.serial(`sealroom: EXPOSEd port ${p.containerPort}/${p.protocol} published on ${at}:${p.hostPort}`);
          if (published.publishedPorts.length === 0)
            events.serial('sealroom: no EXPOSEd port: inbound traffic is refused');
          events.network?.(factsOf(published));
          return { ...config, netnsPath: published.netnsPath };
        },
        release: () => network.release(request.instanceId),
      };
    },
    async setFirewall(instanceId, rules) {
      const { network } = await ready();
      await network?.setFirewall(instanceId, rules);
    },
    get(instanceId) {
      return resolved?.get(instanceId);
    },
    async close() {
      if (!host) return;
      const { network } = await host;
      await network?.close();
    },
  };
}
