// The instance as Sealroom keeps it: identity, operator input, status and boot facts.
import type { ImageFamily } from '@sealroom/attest';
import type { InstanceNetworkFacts } from './host-agent.ts';

/** Compute Engine's lifecycle states that Sealroom instances go through. */
export type InstanceStatus = 'PROVISIONING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

export interface MetadataItem {
  readonly key: string;
  readonly value: string;
}

export interface InstanceServiceAccount {
  readonly email: string;
  readonly scopes: readonly string[];
}

export interface Instance {
  /** 19 digits, as Compute Engine's. */
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly imageFamily: ImageFamily;
  readonly serviceAccount: InstanceServiceAccount;
  /** In the order given; a later duplicate key wins when read as a map. */
  readonly metadata: readonly MetadataItem[];
  readonly labels: Readonly<Record<string, string>>;
  /** Fields of the request that Sealroom accepts and echoes but does not act on (tags, scheduling, …). */
  readonly recorded: Readonly<Record<string, unknown>>;
  readonly createTime: number;
  readonly status: InstanceStatus;
  readonly statusMessage: string;
  /** Boots since creation (1 on the first boot; each reboot or start adds one). */
  readonly bootCount: number;
  /** The launcher's last exit code, when a boot ended. */
  readonly lastExitCode?: number;
  /** The container runtime the host agent uses (runc, bwrap or process). */
  readonly runtime?: string;
  /** The platform the last boot attested with (soft or tpm). */
  readonly platform?: string;
  /** The last boot's network: isolation, addresses, published ports. */
  readonly network?: InstanceNetworkFacts;
}

/** The instance's network tags (`tags.items` of the request), which firewall rules target. */
export function instanceTags(instance: Pick<Instance, 'recorded'>): string[] {
  const tags = instance.recorded.tags as { items?: unknown } | undefined;
  return Array.isArray(tags?.items) ? tags.items.filter((t): t is string => typeof t === 'string') : [];
}

export function metadataMap(items: readonly MetadataItem[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of items) map[item.key] = item.value;
  return map;
}

export function isHardened(family: ImageFamily): boolean {
  return family === 'confidential-space';
}
