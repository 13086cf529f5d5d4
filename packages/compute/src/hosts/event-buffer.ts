// The host's outbox of instance events: numbered per instance, kept until the control plane acknowledges them,
// replayed in order after a reconnect, and bounded (the oldest lines dropped, and counted, during a long outage).
import { randomBytes } from 'node:crypto';
import type { Frame } from './peer.ts';

/** Lines (serial, workload log) an instance keeps while the control plane does not acknowledge them. */
export const MAX_BUFFERED_LINES = 10_000;
/** Other events (status, boot, exit) kept per instance; a crash loop during an outage stays bounded too. */
export const MAX_BUFFERED_OTHERS = 1_000;

/** An event as the host reports it: a `kind` and its fields (`instanceId` is added when it is framed). */
export type BufferedEvent = { readonly kind: string } & Record<string, unknown>;

interface Entry {
  readonly seq: number;
  readonly event: BufferedEvent;
  /** A marker standing for this many dropped lines (the last of which had this entry's `seq`). */
  readonly dropped?: number;
}

interface Outbox {
  entries: Entry[];
  lines: number;
  others: number;
}

export interface EventBuffer {
  /**
   * This agent run's identity: sequence numbers start again in another run, so the control plane keys what
   * it has recorded by (host, instance, boot, seq).
   */
  readonly boot: string;
  /** Numbers the event, keeps it, and sends it at once when the channel is up. */
  push(instanceId: string, event: BufferedEvent): void;
  /** The control plane recorded every event of the instance up to `seq`: they are forgotten. */
  ack(instanceId: string, boot: unknown, seq: unknown): void;
  /** The channel is up: every unacknowledged event is sent again, in order, then new ones as they come. */
  attach(send: (frame: Frame) => void): void;
  /** The channel is down: events are kept until the next `attach`. */
  detach(): void;
  /** Lines and events waiting for an acknowledgement (all instances). */
  pending(): number;
}

const isLine = (event: BufferedEvent) => event.kind === 'serial' || event.kind === 'workloadLog';

const droppedLine = (count: number) =>
  `sealroom: … ${count} line${count === 1 ? '' : 's'} dropped while the control plane was unreachable`;

export function createEventBuffer(
  options: { readonly maxLines?: number; readonly maxOthers?: number } = {},
): EventBuffer {
  const maxLines = options.maxLines ?? MAX_BUFFERED_LINES;
  const maxOthers = options.maxOthers ?? MAX_BUFFERED_OTHERS;
  const boot = randomBytes(8).toString('hex');
  const outboxes = new Map<string, Outbox>();
  /** Kept after an outbox empties: an instance booted again in this run goes on counting. */
  const nextSeq = new Map<string, number>();
  let transmit: ((frame: Frame) => void) | undefined;

  const frameOf = (instanceId: string, entry: Entry): Frame => ({
    type: 'event',
    boot,
    seq: entry.seq,
    event: { ...entry.event, instanceId },
  });

  /** Drops the oldest line (or, with none left, the oldest event), leaving one marker that counts them. */
  const dropOldest = (outbox: Outbox, preferLines: boolean) => {
    const { entries } = outbox;
    const index = entries.findIndex((e) => e.dropped === undefined && (!preferLines || isLine(e.event)));
    if (index < 0) return;
    const victim = entries[index] as Entry;
    const markerAt = entries.findIndex((e) => e.dropped !== undefined);
    const count = (markerAt >= 0 ? ((entries[markerAt] as Entry).dropped ?? 0) : 0) + 1;
    // The marker takes the dropped entry's place and number: it stays in order, and is acknowledged like it.
    entries[index] = { seq: victim.seq, event: { kind: 'serial', line: droppedLine(count) }, dropped: count };
    if (markerAt >= 0 && markerAt !== index) entries.splice(markerAt, 1);
    if (isLine(victim.event)) outbox.lines--;
    else outbox.others--;
  };

  return {
    boot,
    push(instanceId, event) {
      const seq = (nextSeq.get(instanceId) ?? 0) + 1;
      nextSeq.set(instanceId, seq);
      let outbox = outboxes.get(instanceId);
      if (!outbox) {
        outbox = { entries: [], lines: 0, others: 0 };
        outboxes.set(instanceId, outbox);
      }
      const entry: Entry = { seq, event };
      outbox.entries.push(entry);
      if (isLine(event)) outbox.lines++;
      else outbox.others++;
      while (outbox.lines > maxLines) dropOldest(outbox, true);
      while (outbox.others > maxOthers) dropOldest(outbox, false);
      transmit?.(frameOf(instanceId, entry));
    },
    ack(instanceId, ackBoot, seq) {
      if (ackBoot !== boot || typeof seq !== 'number') return;
      const outbox = outboxes.get(instanceId);
      if (!outbox) return;
      let done = 0;
      for (const entry of outbox.entries) {
        if (entry.seq > seq) break;
        done++;
        if (entry.dropped !== undefined) continue;
        if (isLine(entry.event)) outbox.lines--;
        else outbox.others--;
      }
      outbox.entries.splice(0, done);
      if (outbox.entries.length === 0) outboxes.delete(instanceId);
    },
    attach(send) {
      transmit = send;
      for (const [instanceId, outbox] of outboxes) for (const entry of outbox.entries) send(frameOf(instanceId, entry));
    },
    detach() {
      transmit = undefined;
    },
    pending() {
      let total = 0;
      for (const outbox of outboxes.values()) total += outbox.entries.length;
      return total;
    },
  };
}
