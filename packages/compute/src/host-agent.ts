// The seam between the control plane and whatever boots instances: today an embedded agent, later a remote one.
import type { ImageFamily } from '@sealroom/attest';
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
  /** Boots already done before this power-on (a started instance keeps counting). */
  readonly previousBoots: number;
}

/** How the host reports back; every call is also what the operator sees (status, serial output). */
export interface InstanceEvents {
  status(status: InstanceStatus, message: string): void;
  /** One line of the serial console: the launcher's log, and workload output when redirected there. */
  serial(line: string): void;
  /** A workload line for the logging service (when `tee-container-log-redirect` and the policy allow). */
  workloadLog(entry: { severity: 'INFO' | 'ERROR'; message: string }): void;
  /** A boot began (1-based count since creation) with this container runtime. */
  booted(bootCount: number, runtime: string): void;
  /** The launcher of the current boot exited with this code. */
  exited(exitCode: number): void;
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
  /** Whether the host still runs the instance (a held debug instance counts). */
  isRunning(instanceId: string): boolean;
  close(): Promise<void>;
}
