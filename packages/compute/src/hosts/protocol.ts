// The frames of the host channel: what a host reports about its instances, parsed strictly on the control plane.
import { z } from 'zod';
import type { InstanceNetworkFacts } from '../host-agent.ts';
import type { InstanceStatus } from '../instance.types.ts';

/** How often a host says it is alive; the control plane's `hostLostSeconds` must be several of these. */
export const HEARTBEAT_MS = 2_000;
/** The HTTP/2 path of the channel on the host listener. */
export const CHANNEL_PATH = '/v1/hosts/channel';

const MAX_LINE = 64 * 1024;
const id = z.string().regex(/^[0-9]{1,20}$/);

const HostEventSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    instanceId: id,
    status: z.enum(['PROVISIONING', 'RUNNING', 'STOPPING', 'TERMINATED']),
    message: z.string().max(MAX_LINE),
  }),
  z.object({ kind: z.literal('serial'), instanceId: id, line: z.string().max(MAX_LINE) }),
  z.object({
    kind: z.literal('workloadLog'),
    instanceId: id,
    severity: z.enum(['INFO', 'ERROR']),
    message: z.string().max(MAX_LINE),
  }),
  z.object({
    kind: z.literal('booted'),
    instanceId: id,
    bootCount: z.number().int().min(1),
    runtime: z.string().max(32),
    platform: z.string().max(32).optional(),
  }),
  z.object({ kind: z.literal('exited'), instanceId: id, exitCode: z.number().int().min(0).max(255) }),
  z.object({
    kind: z.literal('network'),
    instanceId: id,
    facts: z.object({
      isolation: z.enum(['namespace', 'none']),
      reason: z.string().max(1024).optional(),
      networkIP: z.ipv4().optional(),
      gatewayAddress: z.ipv4().optional(),
      natIP: z.union([z.ipv4(), z.ipv6()]).optional(),
      publishedPorts: z
        .array(
          z.object({
            protocol: z.enum(['tcp', 'udp']),
            containerPort: z.number().int().min(1).max(65535),
            hostPort: z.number().int().min(1).max(65535),
          }),
        )
        .max(256),
    }),
  }),
]);

export type HostEvent =
  | { kind: 'status'; instanceId: string; status: InstanceStatus; message: string }
  | { kind: 'serial'; instanceId: string; line: string }
  | { kind: 'workloadLog'; instanceId: string; severity: 'INFO' | 'ERROR'; message: string }
  | { kind: 'booted'; instanceId: string; bootCount: number; runtime: string; platform?: string }
  | { kind: 'exited'; instanceId: string; exitCode: number }
  | { kind: 'network'; instanceId: string; facts: InstanceNetworkFacts };

const OriginSchema = z.object({ boot: z.string().regex(/^[0-9a-f]{1,64}$/), seq: z.number().int().min(1) });

/** Where an event stands in its host's outbox: the agent run and the instance's sequence number in it. */
export interface EventOrigin {
  readonly boot: string;
  readonly seq: number;
}

/** The `boot` and `seq` of an `event` frame; undefined for a host that does not number its events. */
export function parseEventOrigin(frame: Record<string, unknown>): EventOrigin | undefined {
  const parsed = OriginSchema.safeParse({ boot: frame.boot, seq: frame.seq });
  return parsed.success ? parsed.data : undefined;
}

/** An `event` frame's event, or undefined when it is malformed (dropped, as a host may not write the record). */
export function parseHostEvent(frame: Record<string, unknown>): HostEvent | undefined {
  const parsed = HostEventSchema.safeParse(frame.event);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  if (event.kind === 'booted' && event.platform === undefined) {
    const { platform: _omitted, ...rest } = event;
    return rest;
  }
  return event as HostEvent;
}
