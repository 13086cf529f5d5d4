// How the scenario starts and watches the workload: on a compute instance (serial output), or in-process (dev).
import type { RunningWorkload } from '../workload/run.ts';
import type { CliSession } from './cli-session.ts';
import { WordcountError } from '../errors.ts';

/** What an operator may change when creating an instance (negative runs). */
export interface InstanceVariant {
  readonly debug?: boolean;
  readonly serviceAccount?: string;
  /** Another image than the one the collaborators authorised. */
  readonly imageReference?: string;
}

/** A workload started by the operator, as the scenario watches it. */
export interface WorkloadHandle {
  /** Resolves once the workload has sealed at least this many contributions into every collaborator's result. */
  waitForContributions(count: number, timeoutMs: number): Promise<void>;
  /** The instance's serial output (compute only; empty for the dev stand-in). */
  serialOutput(): Promise<string>;
  /** Stops it (SIGTERM: final seal and results). */
  stop(): Promise<void>;
}

export interface ComputeInstanceOptions {
  readonly name: string;
  readonly variant: InstanceVariant;
  readonly operatorCli: CliSession;
  /** Switches the shared terminal back to the operator's configuration. */
  readonly activateOperator: () => Promise<unknown>;
  readonly serviceAccount: string;
  readonly imageReference: string;
  /** Passed as tee-env-WORDCOUNT_COLLABORATORS (the collaborator set only), so it is measured into the token. */
  readonly collaboratorsValue: string;
}

const ZONE = '--zone=us-central1-a';

/** `sealroom compute instances create` with the seed's flags; the handle reads the serial console. */
export async function startComputeInstance(options: ComputeInstanceOptions): Promise<WorkloadHandle> {
  const { name, variant, operatorCli: cli } = options;
  // "A/…,B/…;ingress=9443": one entry per collaborator before the options.
  const collaborators = (options.collaboratorsValue.split(';')[0] ?? '').split(',').length;
  await cli.sealroom([
    'compute',
    'instances',
    'create',
    name,
    '--confidential-compute',
    '--shielded-secure-boot',
    ZONE,
    `--image-family=${variant.debug ? 'confidential-space-debug' : 'confidential-space'}`,
    `--service-account=${variant.serviceAccount ?? options.serviceAccount}`,
    '--metadata',
    `^~^tee-image-reference=${variant.imageReference ?? options.imageReference}~tee-restart-policy=Never~tee-container-log-redirect=true~tee-env-WORDCOUNT_COLLABORATORS=${options.collaboratorsValue}`,
  ]);
  const serial = async () => {
    await options.activateOperator();
    return cli.sealroom(['compute', 'instances', 'get-serial-port-output', name, ZONE], { quiet: true });
  };
  return {
    serialOutput: serial,
    async waitForContributions(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const output = await serial();
        if (publishedContributions(output, collaborators) >= count) return;
        if (Date.now() > deadline)
          throw new WordcountError(
            'ERR_WORDCOUNT_SCENARIO',
            `timed out waiting for ${count} contributions:\n${output.slice(-3000)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async stop() {
      await options.activateOperator();
      await cli.sealroom(['compute', 'instances', 'stop', name, ZONE]);
    },
  };
}

/** The dev stand-in's workload, in-process. */
export function devInstanceHandle(workload: RunningWorkload): WorkloadHandle {
  return {
    serialOutput: async () => '',
    async waitForContributions(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (workload.processor.stats.counted < count) {
        if (Date.now() > deadline)
          throw new WordcountError('ERR_WORDCOUNT_SCENARIO', `timed out waiting for ${count} contributions`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await workload.processor.flush();
      await workload.publishResults();
    },
    stop: () => workload.stop(),
  };
}

/**
 * The contributions every collaborator's published result holds: per collaborator, the largest total in its
 * "sealed result published" lines of the instance's serial output; the least of those, or 0 while fewer than
 * `collaborators` have one (results go out one collaborator after the other).
 */
export function publishedContributions(serialOutput: string, collaborators: number): number {
  const best = new Map<string, number>();
  for (const line of serialOutput.split('\n')) {
    const start = line.indexOf('{"time"');
    if (start < 0 || !line.includes('sealed result published')) continue;
    try {
      const entry = JSON.parse(line.slice(start)) as { collaborator?: string; contributions?: Record<string, number> };
      const total = Object.values(entry.contributions ?? {}).reduce((a, b) => a + b, 0);
      const who = entry.collaborator ?? '';
      best.set(who, Math.max(best.get(who) ?? 0, total));
    } catch {
      // a line cut by the serial console
    }
  }
  return best.size < collaborators ? 0 : Math.min(...best.values());
}
