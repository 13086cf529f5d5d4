// Test helpers: an IAM test context with an operator project, a service account, and a scripted host agent.
import type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';

export interface FakeAgent extends HostAgent {
  readonly boots: BootRequest[];
  /** Every power-off, and whether it was a hard reset's. */
  readonly powerOffs: { id: string; hard: boolean }[];
  events(instanceId: string): InstanceEvents;
  /** What `tokenClaims` answers for an instance (none by default). */
  readonly tokens: Map<string, DecodedToken>;
}

/** Boots at once into RUNNING (runtime `fake`), stops at once, and answers exec with the command it got. */
export function createFakeAgent(): FakeAgent {
  const boots: BootRequest[] = [];
  const powerOffs: { id: string; hard: boolean }[] = [];
  const running = new Set<string>();
  const events = new Map<string, InstanceEvents>();
  const tokens = new Map<string, DecodedToken>();
  return {
    boots,
    tokens,
    async tokenClaims(id) {
      return running.has(id) ? tokens.get(id) : undefined;
    },
    powerOffs,
    events: (id) => events.get(id) as InstanceEvents,
    powerOn(request, e) {
      boots.push(request);
      running.add(request.instanceId);
      events.set(request.instanceId, e);
      e.booted(request.previousBoots + 1, 'fake');
      e.serial(`boot of ${request.name}`);
    },
    async powerOff(id, options) {
      running.delete(id);
      powerOffs.push({ id, hard: options?.hard === true });
    },
    async exec(_id, command): Promise<ExecResult> {
      return { exitCode: 0, stdout: `ran ${command.join(' ')}\n`, stderr: '' };
    },
    async discard() {},
    isRunning: (id) => running.has(id),
    async close() {},
  };
}
