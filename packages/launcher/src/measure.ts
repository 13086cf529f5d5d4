// The COS events the launcher measures into PCR 13 before the first token, in Google's order (docs/launcher.md,
// "Measurement").
import { COS_TYPE, encodeCosContent, type Platform } from '@sealroom/attest';
import type { ContainerProcess } from './container-process.ts';
import type { LaunchSpec } from './launch-spec.ts';
import { isMemoryMonitoringMeasured } from './log-redirect.ts';

/** What identifies the pulled image. */
export interface ImageIdentity {
  /** The reference as resolved (containerd `image.Name()`). */
  readonly reference: string;
  /** Manifest (or index) digest, `sha256:…`. */
  readonly digest: string;
  /** Config descriptor digest, when readable. */
  readonly configDigest?: string;
}

export interface CosEvent {
  readonly type: number;
  readonly value: string | Uint8Array;
}

/**
 * The ordered events: ImageRef, ImageDigest, RestartPolicy, ImageID, each Arg, each EnvVar, each
 * OverrideEnv, each OverrideArg, MemoryMonitor, Sealroom's TrustedCA when the platform gives a CA, then the
 * separator last.
 */
export function cosEventsFor(
  image: ImageIdentity,
  spec: LaunchSpec,
  process: ContainerProcess,
  trustedCaDigest?: string,
): CosEvent[] {
  return [
    { type: COS_TYPE.IMAGE_REF, value: image.reference },
    { type: COS_TYPE.IMAGE_DIGEST, value: image.digest },
    { type: COS_TYPE.RESTART_POLICY, value: spec.restartPolicy },
    ...(image.configDigest ? [{ type: COS_TYPE.IMAGE_ID, value: image.configDigest }] : []),
    ...process.args.map((value) => ({ type: COS_TYPE.ARG, value })),
    ...process.env.map((value) => ({ type: COS_TYPE.ENV_VAR, value })),
    ...spec.envOverrides.map((o) => ({ type: COS_TYPE.OVERRIDE_ENV, value: `${o.name}=${o.value}` })),
    ...spec.cmdOverride.map((value) => ({ type: COS_TYPE.OVERRIDE_ARG, value })),
    { type: COS_TYPE.MEMORY_MONITOR, value: Uint8Array.of(isMemoryMonitoringMeasured(spec) ? 1 : 0) },
    // What the workload will trust besides the public roots: Sealroom's own event, after Google's.
    ...(trustedCaDigest === undefined ? [] : [{ type: COS_TYPE.SEALROOM_TRUSTED_CA, value: trustedCaDigest }]),
    { type: COS_TYPE.LAUNCH_SEPARATOR, value: new Uint8Array(0) },
  ];
}

/** Extends every event into the platform's COS register, in order; nothing may be measured after this. */
export async function measureLaunch(
  platform: Pick<Platform, 'measureEvent'>,
  events: readonly CosEvent[],
): Promise<void> {
  for (const event of events) await platform.measureEvent(encodeCosContent(event.type, event.value));
}
