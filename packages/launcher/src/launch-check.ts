// The pre-flight decision of a launch: metadata → spec, labels → policy, verify, and the exit code of a refusal.
import { LauncherError } from './errors.ts';
import { type LaunchExitCode, exitCodeFor, outcomeOf } from './exit-code.ts';
import { type LaunchPolicy, parseLaunchPolicy, verifyLaunchPolicy } from './launch-policy.ts';
import { type LaunchSpec, type ParseLaunchSpecOptions, parseLaunchSpec } from './launch-spec.ts';

export interface CheckLaunchOptions extends ParseLaunchSpecOptions {
  readonly metadata: Readonly<Record<string, string>>;
  /** The image config's `.config.Labels`. */
  readonly labels: Readonly<Record<string, string>>;
}

export type LaunchCheck =
  | { readonly outcome: 'runs'; readonly spec: LaunchSpec; readonly policy: LaunchPolicy }
  | { readonly outcome: 'refused'; readonly exitCode: LaunchExitCode; readonly error: LauncherError };

/** Runs the checks in Google's order: spec (exit 1 even on debug), then policy parse and verify. */
export function checkLaunch(options: CheckLaunchOptions): LaunchCheck {
  let spec: LaunchSpec;
  try {
    spec = parseLaunchSpec(options.metadata, options);
  } catch (error) {
    return refuse(error, options.hardened, 'metadata');
  }
  try {
    const policy = parseLaunchPolicy(options.labels);
    const violation = verifyLaunchPolicy(policy, spec);
    if (violation) return refuse(violation, spec.hardened);
    return { outcome: 'runs', spec, policy };
  } catch (error) {
    return refuse(error, spec.hardened);
  }
}

function refuse(error: unknown, hardened: boolean, forced?: 'metadata'): LaunchCheck {
  if (!(error instanceof LauncherError)) throw error;
  const outcome = forced ?? outcomeOf(error);
  // Refusals are not retryable, so the restart policy does not change their code.
  return { outcome: 'refused', exitCode: exitCodeFor({ hardened, restartPolicy: 'Never', outcome }), error };
}
