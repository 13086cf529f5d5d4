// The seam between the control plane and whatever boots instances: today an embedded agent, later a remote one.
import type { ImageFamily } from '@sealroom/attest';
import type { FirewallRule, InstanceNetwork } from '@sealroom/launcher';
import type { InstanceStatus } from './instance.types.ts';

/** What a host needs to boot an instance: its identity, image family, metadata and service account. */
export interface BootRequest {
  readonly instanceId: string;
  readonly name: string;
  readonly zone: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly imageFamily: ImageFamily;
  /** The metadata as a map (`instance/attributes/?recursive=true`). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly serviceAccountEmail: string;
  /** The OAuth scopes of `--scopes`: the metadata server's access tokens carry them unless a request asks for others. */
  readonly serviceAccountScopes?: readonly string[];
  /** Epoch milliseconds (the ID token's `instance_creation_timestamp` with format=full). */
  readonly createTime?: number;
  /** Boots already done before this power-on (a started instance keeps counting). */
  readonly previousBoots: number;
  /** The machine type's name and memory: the workload's memory limit (no swap). */
  readonly machineType?: { readonly name: string; readonly memoryBytes: number };
  /** The instance's disk (image and writes) from its boot disk size. */
  readonly diskBytes?: number;
  /** Whether the service account may write log entries (`logging.logEntries.create`, roles/logging.logWriter). */
  readonly canWriteLogs?: boolean;
  /** The instance's network tags (`tags.items`): firewall rules target them. */
  readonly tags?: readonly string[];
  /** The project's firewall rules; the host applies those that target the instance. */
  readonly firewall?: readonly FirewallRule[];
}

/** What the operator sees of an instance's network (`compute instances describe`). */
export interface InstanceNetworkFacts {
  /** `namespace`: its own network namespace; `none`: the host network (the reason says why). */
  readonly isolation: 'namespace' | 'none';
  readonly reason?: string;
  /** The instance's address on its link, and the host end of the link. */
  readonly networkIP?: string;
  readonly gatewayAddress?: string;
  /** The host address published ports answer on (they answer on every host address). */
  readonly natIP?: string;
  readonly publishedPorts: readonly { protocol: 'tcp' | 'udp'; containerPort: number; hostPort: number }[];
}

/** How the host reports back; every call is also what the operator sees (status, serial output). */
export interface InstanceEvents {
  status(status: InstanceStatus, message: string): void;
  /** One line of the serial console: the launcher's log, and workload output when redirected there. */
  serial(line: string): void;
  /** A workload line for the logging service (when `tee-container-log-redirect` and the policy allow). */
  workloadLog(entry: { severity: 'INFO' | 'ERROR'; message: string }): void;
  /** A boot began (1-based count since creation) with this container runtime, on this platform (soft, tpm). */
  booted(bootCount: number, runtime: string, platform?: string): void;
  /** The launcher of the current boot exited with this code. */
  exited(exitCode: number): void;
  /** The boot's network: isolated or not, addresses, published ports (optional for older hosts). */
  network?(facts: InstanceNetworkFacts): void;
  /** Resolves once everything reported so far is recorded (a remote host forgets events only then). */
  settled?(): Promise<void>;
}

export interface DecodedToken {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HostAgent {
  /** Powers the instance on; returns at once, progress arrives through `events`. */
  powerOn(request: BootRequest, events: InstanceEvents): void;
  /**
   * SIGTERM to the workload, SIGKILL after the grace period; with `hard`, SIGKILL at once (a reset cuts
   * power). Resolves once the instance is off.
   */
  powerOff(instanceId: string, options?: { readonly hard?: boolean }): Promise<void>;
  /** Runs a command in a debug instance's container (the service refuses hardened ones before asking). */
  exec(instanceId: string, command: readonly string[]): Promise<ExecResult>;
  /** Removes what the host kept for a deleted instance (its disk, in a VM's terms). */
  discard(instanceId: string): Promise<void>;
  /**
   * The header and claims of the attestation token the instance holds now, decoded (never the token: it is a
   * bearer credential); undefined when it has none. Optional: a host that cannot tell leaves it out.
   */
  tokenClaims?(instanceId: string): Promise<DecodedToken | undefined>;
  /** Re-applies the project's firewall rules to a running instance (a rule was created or deleted). */
  setFirewall?(instanceId: string, rules: readonly FirewallRule[]): Promise<void>;
  /** The instance's network namespace, gateway and addresses while it runs isolated (for the metadata server). */
  instanceNetwork?(instanceId: string): InstanceNetwork | undefined;
  /**
   * The instance's metadata changed (`compute instances add-metadata`): its metadata server answers the new
   * values and wakes `wait_for_change` requests. The running workload's launch is not redone.
   */
  updateMetadata?(instanceId: string, metadata: Readonly<Record<string, string>>): void;
  /** Whether the host still runs the instance (a held debug instance counts). */
  isRunning(instanceId: string): boolean;
  /** How many instances the host runs now (what a shutdown has to stop); optional. */
  runningCount?(): number;
  close(): Promise<void>;
}
