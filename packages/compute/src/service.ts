// The instances domain: IAM checks, the lifecycle state machine, serial output, and the host agent behind it.
import type { ImageFamily } from '@sealroom/attest';
import { type Caller, CoreError, newInstanceId, type ProjectRef, permissionDenied, toRfc3339 } from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import type { ServiceContext } from '@sealroom/transport';
import { ComputeError } from './errors.ts';
import type { DecodedToken, ExecResult, HostAgent, InstanceEvents } from './host-agent.ts';
import {
  type Instance,
  type InstanceServiceAccount,
  type InstanceStatus,
  type MetadataItem,
  instanceTags,
  isHardened,
  metadataMap,
} from './instance.types.ts';
import { instanceDiskBytes, resolveMachineType } from './machine-types.ts';
import { fingerprint } from './json.ts';
import type { InstanceStore } from './store.ts';
import type { FirewallRule } from '@sealroom/launcher';

const METHOD = 'compute.instances';
const NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ZONE_PATTERN = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;

export interface CreateInstanceInput {
  readonly name: string;
  readonly imageFamily: ImageFamily;
  readonly serviceAccount: InstanceServiceAccount;
  readonly metadata: readonly MetadataItem[];
  readonly labels: Readonly<Record<string, string>>;
  readonly recorded: Readonly<Record<string, unknown>>;
}

/** The service-account facts the compute service needs (IAM owns the accounts). */
export interface ServiceAccountLookup {
  get(email: string): Promise<{ email: string; projectId: string; disabled: boolean } | undefined>;
}

export interface InstanceServiceOptions {
  readonly context: ServiceContext;
  readonly store: InstanceStore;
  readonly agent: HostAgent;
  readonly serviceAccounts: ServiceAccountLookup;
  /** The project's firewall rules, handed to the host at each power-on. */
  readonly firewallRules?: (projectNumber: string) => Promise<readonly FirewallRule[]>;
  /** Writes workload lines to the project's log (the logging service); absent when there is none. */
  readonly writeWorkloadLog?: (projectNumber: string, instance: Instance, entry: WorkloadLogEntry) => Promise<void>;
  /** This server process's name among the replicas; recorded on each instance it powers on. */
  readonly runner?: string;
  /** Whether another replica (by its `runner` name) still lives: its instances are its to stop or reach. */
  readonly isRunnerAlive?: (runner: string) => Promise<boolean>;
}

export interface RecoverOptions {
  /** Whether the replica that powered an instance on still lives; without it, none but this one does. */
  readonly isRunnerAlive?: (runner: string) => Promise<boolean>;
}

export interface WorkloadLogEntry {
  readonly severity: 'INFO' | 'ERROR';
  readonly message: string;
}

export interface InstanceService {
  create(caller: Caller | undefined, project: string, zone: string, input: CreateInstanceInput): Promise<Instance>;
  get(caller: Caller | undefined, project: string, zone: string, name: string): Promise<Instance>;
  list(caller: Caller | undefined, project: string, zone: string): Promise<Instance[]>;
  /** The project as Compute Engine names it (what gcloud reads before it creates an instance). */
  getProject(caller: Caller | undefined, project: string): Promise<ProjectRef>;
  /** Checks that the caller may read the zone of the project and that the zone's name is valid. */
  getZone(caller: Caller | undefined, project: string, zone: string): Promise<ProjectRef>;
  /** Every zone's instances of the project (Compute Engine's aggregated list). */
  listAggregated(caller: Caller | undefined, project: string): Promise<Instance[]>;
  delete(caller: Caller | undefined, project: string, zone: string, name: string): Promise<Instance>;
  stop(caller: Caller | undefined, project: string, zone: string, name: string): Promise<Instance>;
  start(caller: Caller | undefined, project: string, zone: string, name: string): Promise<Instance>;
  /** A hard reset: the workload is killed at once (no SIGTERM), then the instance boots again. */
  reset(caller: Caller | undefined, project: string, zone: string, name: string): Promise<Instance>;
  /**
   * Compute Engine's instances.setMetadata: replaces every item, when `fingerprint` is the current
   * metadata's (read with the instance); a stale one is refused, so two writers never lose a change. The
   * launcher reads metadata at boot: a running workload sees the change at its next start or reset.
   */
  setMetadata(
    caller: Caller | undefined,
    project: string,
    zone: string,
    name: string,
    change: { readonly fingerprint: string; readonly items: readonly MetadataItem[] },
  ): Promise<Instance>;
  serialOutput(caller: Caller | undefined, project: string, zone: string, name: string): Promise<string>;
  /** Serial lines after `afterSeq` with their order numbers, and the instance as it is now (for live views). */
  serialSince(
    caller: Caller | undefined,
    project: string,
    zone: string,
    name: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ instance: Instance; lines: { seq: number; line: string }[] }>;
  /** The decoded header and claims of the instance's current attestation token, if it holds one. */
  tokenClaims(
    caller: Caller | undefined,
    project: string,
    zone: string,
    name: string,
  ): Promise<DecodedToken | undefined>;
  exec(
    caller: Caller | undefined,
    project: string,
    zone: string,
    name: string,
    command: readonly string[],
  ): Promise<ExecResult>;
  /**
   * Instances whose server process is gone (a previous run of this one, or a replica whose lease lapsed)
   * cannot be running now: they are marked TERMINATED. Instances another live replica runs are left alone.
   */
  recover(options?: RecoverOptions): Promise<number>;
  /** How many instances the host agent runs now. */
  runningCount(): number;
  /** The recorder of an instance's reports, for a host that reconnected to this replica; undefined when gone. */
  eventsForId(instanceId: string): Promise<InstanceEvents | undefined>;
  close(): Promise<void>;
}

export function instanceResource(project: string, zone: string, name: string): string {
  return `projects/${project}/zones/${zone}/instances/${name}`;
}

function checkNames(zone: string, name?: string): void {
  if (!ZONE_PATTERN.test(zone))
    throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', `Invalid value for field 'zone': '${zone.slice(0, 64)}'.`);
  if (name !== undefined && !NAME_PATTERN.test(name))
    throw new ComputeError(
      'ERR_COMPUTE_BAD_REQUEST',
      `Invalid value for field 'resource.name': '${name.slice(0, 64)}'. Must be a match of regex '${NAME_PATTERN.source}'`,
    );
}

export function createInstanceService(options: InstanceServiceOptions): InstanceService {
  const { context, store, agent } = options;
  const { projects, clock, logger } = context;
  const access = createServiceAccess({ authorizer: context.authorizer, audit: context.audit, clock });
  /** Per instance, writes happen in the order the agent reported them. */
  const queues = new Map<string, Promise<unknown>>();
  const enqueue = (id: string, work: () => Promise<unknown>): Promise<unknown> => {
    const next = (queues.get(id) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      logger.error({ instanceId: id, error }, 'instance update failed');
    });
    queues.set(id, next);
    return next;
  };

  const eventsFor = (instance: Instance): InstanceEvents => ({
    status: (status, message) => void enqueue(instance.id, () => setStatus(instance.id, status, message)),
    // Stamped when reported, as a console's kernel timestamps are: the operator can see where a boot spends time.
    serial: (line) => {
      const stamped = `${toRfc3339(clock.now())} ${line}`;
      void enqueue(instance.id, () => store.appendSerial(instance.id, [stamped]));
    },
    workloadLog: (entry) =>
      void enqueue(instance.id, async () => options.writeWorkloadLog?.(instance.projectNumber, instance, entry)),
    booted: (bootCount, runtime, platform) =>
      void enqueue(instance.id, () =>
        store.update(instance.id, (i) => ({
          ...i,
          bootCount,
          runtime,
          ...(platform === undefined ? {} : { platform }),
          status: 'RUNNING',
          statusMessage: '',
        })),
      ),
    exited: (exitCode) =>
      void enqueue(instance.id, () => store.update(instance.id, (i) => ({ ...i, lastExitCode: exitCode }))),
    network: (facts) => void enqueue(instance.id, () => store.update(instance.id, (i) => ({ ...i, network: facts }))),
    settled: async () => {
      await queues.get(instance.id);
    },
  });

  const setStatus = (id: string, status: InstanceStatus, statusMessage: string) =>
    store.update(id, (i) => ({ ...i, status, statusMessage }));

  /**
   * An instance another live replica runs can be stopped, reset or reached only there: here the call fails
   * as retryable (503), so a client or proxy retrying on the other replicas reaches the one that runs it.
   */
  const requireRunsHere = async (instance: Instance): Promise<void> => {
    if (instance.status === 'TERMINATED' || agent.isRunning(instance.id)) return;
    const runner = await store.runnerOf(instance.id);
    if (runner === undefined || runner === options.runner) return;
    if (await options.isRunnerAlive?.(runner)) {
      throw new CoreError(
        'ERR_UNAVAILABLE',
        `The instance '${instance.name}' runs on another replica of this deployment; retry (through the proxy).`,
      );
    }
  };

  /** Authorizes first, so that a caller without the permission cannot tell a missing instance from a denied one. */
  const find = async (caller: Caller | undefined, permission: string, project: string, zone: string, name: string) => {
    const resource = instanceResource(project, zone, name);
    await access.require({ caller, permission, resource });
    const ref = await projects.resolve(project);
    const instance = ref ? await store.get(ref.projectNumber, zone, name) : undefined;
    if (!instance) throw new ComputeError('ERR_COMPUTE_INSTANCE_NOT_FOUND', `The resource '${resource}' was not found`);
    return instance;
  };

  const record = async (caller: Caller | undefined, instance: Instance, method: string, details = {}) =>
    access.record(
      {
        caller,
        project: instance.projectNumber,
        method: `v1.compute.instances.${method}`,
        resource: instanceResource(instance.projectId, instance.zone, instance.name),
      },
      { instanceId: instance.id, ...details },
    );

  const powerOn = async (instance: Instance): Promise<void> => {
    await store.appendSerial(instance.id, [`${toRfc3339(clock.now())} sealroom: power on (${instance.imageFamily})`]);
    const firewall = (await options.firewallRules?.(instance.projectNumber)) ?? [];
    const disks = instance.recorded.disks as readonly Record<string, unknown>[] | undefined;
    const canWriteLogs = await mayWriteLogs(instance);
    if (options.runner !== undefined) await store.setRunner(instance.id, options.runner);
    agent.powerOn(
      {
        instanceId: instance.id,
        name: instance.name,
        zone: instance.zone,
        projectId: instance.projectId,
        projectNumber: instance.projectNumber,
        imageFamily: instance.imageFamily,
        metadata: metadataMap(instance.metadata),
        serviceAccountEmail: instance.serviceAccount.email,
        serviceAccountScopes: instance.serviceAccount.scopes,
        createTime: instance.createTime,
        previousBoots: instance.bootCount,
        tags: instanceTags(instance),
        firewall,
        machineType: resolveMachineType(instance.recorded.machineType as string | undefined),
        diskBytes: instanceDiskBytes(disks),
        canWriteLogs,
      },
      eventsFor(instance),
    );
  };

  /**
   * Cloud Logging takes entries from a service account that holds `logging.logEntries.create` on the
   * project (roles/logging.logWriter), as Google's does for a Confidential Space VM; checked at each power-on.
   */
  const mayWriteLogs = async (instance: Instance): Promise<boolean> => {
    const account: Caller = {
      kind: 'serviceAccount',
      principal: `serviceAccount:${instance.serviceAccount.email}`,
      credentialId: 'instance-metadata-server',
      expiresAt: clock.now() + 60_000,
    };
    return context.authorizer
      .isAllowed(account, 'logging.logEntries.create', `projects/${instance.projectId}`)
      .catch(() => false);
  };

  /** Stops the host's instance and waits for the queued reports, so the row is final afterwards. */
  const powerOff = async (instance: Instance): Promise<void> => {
    await agent.powerOff(instance.id);
    await queues.get(instance.id);
  };

  return {
    async create(caller, project, zone, input) {
      checkNames(zone, input.name);
      const resource = instanceResource(project, zone, input.name);
      await access.require({ caller, permission: `${METHOD}.create`, resource });
      const ref = await projects.resolve(project);
      if (!ref) throw permissionDenied(`${METHOD}.create`, resource);
      const account = await options.serviceAccounts.get(input.serviceAccount.email);
      const accountProject = account?.projectId ?? /@([a-z][a-z0-9-]+)\./.exec(input.serviceAccount.email)?.[1] ?? '-';
      const accountResource = `projects/${accountProject}/serviceAccounts/${input.serviceAccount.email}`;
      // Like Compute Engine: whoever attaches a service account must be allowed to act as it.
      await access.require({ caller, permission: 'iam.serviceAccounts.actAs', resource: accountResource });
      if (!account || account.disabled)
        throw new ComputeError(
          'ERR_COMPUTE_SERVICE_ACCOUNT',
          `The service account '${input.serviceAccount.email}' does not exist or is disabled.`,
        );
      const instance: Instance = {
        id: newInstanceId(),
        name: input.name,
        zone,
        projectId: ref.projectId,
        projectNumber: ref.projectNumber,
        imageFamily: input.imageFamily,
        serviceAccount: input.serviceAccount,
        metadata: input.metadata,
        labels: input.labels,
        recorded: input.recorded,
        createTime: clock.now(),
        status: 'PROVISIONING',
        statusMessage: '',
        bootCount: 0,
      };
      if (!(await store.insert(instance)))
        throw new ComputeError('ERR_COMPUTE_INSTANCE_EXISTS', `The resource '${resource}' already exists`);
      await record(caller, instance, 'insert', { imageFamily: instance.imageFamily });
      await powerOn(instance);
      return instance;
    },

    async get(caller, project, zone, name) {
      return find(caller, `${METHOD}.get`, project, zone, name);
    },

    async list(caller, project, zone) {
      checkNames(zone);
      await access.require({ caller, permission: `${METHOD}.list`, resource: `projects/${project}` });
      const ref = await projects.resolve(project);
      return ref ? store.list(ref.projectNumber, zone) : [];
    },

    async getProject(caller, project) {
      const permission = 'compute.projects.get';
      await access.require({ caller, permission, resource: `projects/${project}` });
      const ref = await projects.resolve(project);
      if (!ref) throw permissionDenied(permission, `projects/${project}`);
      return ref;
    },

    async getZone(caller, project, zone) {
      checkNames(zone);
      const permission = 'compute.zones.get';
      await access.require({ caller, permission, resource: `projects/${project}` });
      const ref = await projects.resolve(project);
      if (!ref) throw permissionDenied(permission, `projects/${project}`);
      return ref;
    },

    async listAggregated(caller, project) {
      await access.require({ caller, permission: `${METHOD}.list`, resource: `projects/${project}` });
      const ref = await projects.resolve(project);
      return ref ? store.listProject(ref.projectNumber) : [];
    },

    async delete(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.delete`, project, zone, name);
      await requireRunsHere(instance);
      await setStatus(instance.id, 'STOPPING', 'deleting');
      await powerOff(instance);
      await store.delete(instance.id);
      await agent.discard(instance.id);
      await record(caller, instance, 'delete');
      return instance;
    },

    async stop(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.stop`, project, zone, name);
      await requireRunsHere(instance);
      if (instance.status === 'TERMINATED') return instance;
      await setStatus(instance.id, 'STOPPING', 'stop requested');
      await powerOff(instance);
      const stopped = await setStatus(instance.id, 'TERMINATED', 'stopped by the operator');
      await record(caller, instance, 'stop');
      return stopped ?? instance;
    },

    async start(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.start`, project, zone, name);
      if (instance.status !== 'TERMINATED' || agent.isRunning(instance.id))
        throw new ComputeError(
          'ERR_COMPUTE_INSTANCE_STATE',
          `The instance '${name}' is ${instance.status}; only a TERMINATED instance can be started.`,
        );
      const starting = (await setStatus(instance.id, 'PROVISIONING', '')) ?? instance;
      await record(caller, instance, 'start');
      await powerOn(starting);
      return starting;
    },

    async reset(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.reset`, project, zone, name);
      await requireRunsHere(instance);
      if (!agent.isRunning(instance.id))
        throw new ComputeError(
          'ERR_COMPUTE_INSTANCE_STATE',
          `The instance '${name}' is ${instance.status}; only a running instance can be reset (start a stopped one).`,
        );
      await store.appendSerial(instance.id, [`${toRfc3339(clock.now())} sealroom: hard reset`]);
      await agent.powerOff(instance.id, { hard: true });
      await queues.get(instance.id);
      const starting = (await setStatus(instance.id, 'PROVISIONING', 'reset')) ?? instance;
      await record(caller, instance, 'reset');
      await powerOn(starting);
      return starting;
    },

    async setMetadata(caller, project, zone, name, change) {
      const instance = await find(caller, `${METHOD}.setMetadata`, project, zone, name);
      let stale = false;
      // Compared inside the store's update, so that two writers holding one fingerprint cannot both win.
      const updated = await store.update(instance.id, (current) => {
        stale = fingerprint(current.metadata) !== change.fingerprint;
        return stale ? current : { ...current, metadata: [...change.items] };
      });
      if (stale || !updated)
        throw new ComputeError(
          'ERR_COMPUTE_FINGERPRINT_MISMATCH',
          `Supplied fingerprint does not match current metadata fingerprint of '${name}': read the instance again and retry.`,
        );
      await record(caller, instance, 'setMetadata', { keys: change.items.map((i) => i.key) });
      return updated;
    },

    async serialOutput(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.getSerialPortOutput`, project, zone, name);
      await queues.get(instance.id);
      const lines = await store.serial(instance.id);
      return lines.length > 0 ? `${lines.join('\n')}\n` : '';
    },

    async serialSince(caller, project, zone, name, afterSeq, limit) {
      const instance = await find(caller, `${METHOD}.getSerialPortOutput`, project, zone, name);
      await queues.get(instance.id);
      return { instance, lines: await store.serialSince(instance.id, afterSeq, limit) };
    },

    async tokenClaims(caller, project, zone, name) {
      const instance = await find(caller, `${METHOD}.get`, project, zone, name);
      await requireRunsHere(instance);
      return agent.tokenClaims?.(instance.id);
    },

    async exec(caller, project, zone, name, command) {
      const instance = await find(caller, `${METHOD}.osAdminLogin`, project, zone, name);
      if (isHardened(instance.imageFamily))
        throw new ComputeError(
          'ERR_COMPUTE_NO_OPERATOR_ACCESS',
          `The instance '${name}' runs the hardened confidential-space image: the operator has no shell on it.`,
        );
      await requireRunsHere(instance);
      if (!agent.isRunning(instance.id))
        throw new ComputeError('ERR_COMPUTE_EXEC_UNAVAILABLE', `The instance '${name}' is not running.`);
      await record(caller, instance, 'exec', { argc: command.length });
      return agent.exec(instance.id, command);
    },

    async recover(recoverOptions = {}) {
      let recovered = 0;
      for (const instance of await store.listAll()) {
        if (instance.status === 'TERMINATED' || agent.isRunning(instance.id)) continue;
        const runner = await store.runnerOf(instance.id);
        // This process's own instance between power-on and its first report, or another live replica's.
        if (runner !== undefined && runner === options.runner) continue;
        if (runner !== undefined && (await recoverOptions.isRunnerAlive?.(runner))) continue;
        const updated = await store.update(instance.id, (i) =>
          i.status === 'TERMINATED'
            ? i
            : { ...i, status: 'TERMINATED', statusMessage: 'the host restarted; start the instance again' },
        );
        if (updated) recovered += 1;
      }
      return recovered;
    },

    runningCount() {
      return agent.runningCount?.() ?? 0;
    },

    async eventsForId(instanceId) {
      const instance = await store.getById(instanceId);
      return instance ? eventsFor(instance) : undefined;
    },

    async close() {
      await agent.close();
      await Promise.all(queues.values());
    },
  };
}
