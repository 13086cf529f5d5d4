// Test helpers: an IAM test context with an operator project, a service account, and a scripted host agent.
import type { IamTestContext } from '@sealroom/iam/testing';
import type { FirewallRule } from '@sealroom/launcher';
import { buildRestApp } from '@sealroom/transport';
import type { BootRequest, DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';
import { createComputeModule } from './module.ts';

export interface FakeAgent extends HostAgent {
  readonly boots: BootRequest[];
  /** Every power-off, and whether it was a hard reset's. */
  readonly powerOffs: { id: string; hard: boolean }[];
  events(instanceId: string): InstanceEvents;
  /** What `tokenClaims` answers for an instance (none by default). */
  readonly tokens: Map<string, DecodedToken>;
  /** The rules each running instance was last given by `setFirewall`. */
  readonly firewalls: Map<string, readonly FirewallRule[]>;
}

/** Boots at once into RUNNING (runtime `fake`), stops at once, and answers exec with the command it got. */
export function createFakeAgent(): FakeAgent {
  const boots: BootRequest[] = [];
  const powerOffs: { id: string; hard: boolean }[] = [];
  const running = new Set<string>();
  const events = new Map<string, InstanceEvents>();
  const tokens = new Map<string, DecodedToken>();
  const firewalls = new Map<string, readonly FirewallRule[]>();
  return {
    boots,
    tokens,
    firewalls,
    async setFirewall(id, rules) {
      firewalls.set(id, rules);
    },
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

/** A boot request for agent tests: vm1 of project `p` on the hardened image, no metadata; `overrides` win. */
export function testBootRequest(overrides: Partial<BootRequest> = {}): BootRequest {
  return {
    instanceId: '1',
    name: 'vm1',
    zone: 'us-central1-a',
    projectId: 'p',
    projectNumber: '1',
    imageFamily: 'confidential-space',
    metadata: {},
    serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
    previousBoots: 0,
    ...overrides,
  };
}

/** The status and JSON body of a REST call made in process. */
export interface InjectedJson {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: GCE JSON read field by field
  readonly json: any;
}

/** The compute module's REST API in process over a fake host agent. */
export interface ComputeTestApp {
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly agent: FakeAgent;
  /** A call as `tokens[who]` (the map is read at call time). */
  call(who: string, method: string, url: string, body?: unknown): Promise<InjectedJson>;
}

export async function startComputeTestApp(
  t: IamTestContext,
  tokens: Readonly<Record<string, string>>,
): Promise<ComputeTestApp> {
  const agent = createFakeAgent();
  const module = await createComputeModule(t.context, { agent });
  const app = await buildRestApp({ routes: module.routes, authenticator: t.context.authenticator, logger: t.logger });
  return {
    app,
    agent,
    async call(who, method, url, body) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${tokens[who]}` },
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
    },
  };
}

/**
 * Users `<who>@example.com` (their tokens into `tokens`), operator-project owned by owner@example.com, and its
 * service account run-confidential-vm; returns the project.
 */
export async function seedOperatorProject(
  t: IamTestContext,
  users: readonly string[],
  tokens: Record<string, string>,
): Promise<Awaited<ReturnType<IamTestContext['createProject']>>> {
  for (const who of users) tokens[who] = (await t.createUser(`${who}@example.com`)).accessToken;
  const project = await t.createProject('operator-project', 'owner@example.com');
  await t.deps.serviceAccounts.create(project, 'run-confidential-vm', 'runs VMs', '');
  return project;
}
export { createInstanceCredentials } from './module.ts';
