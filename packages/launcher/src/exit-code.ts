// Exit codes of a launch and the restart-policy table (docs/launcher.md): 0 success, 1 fail, 2 panic, 3 reboot, 4 hold.
import { type FailureClass, LauncherError } from './errors.ts';
import type { RestartPolicy } from './launch-spec.ts';

export const EXIT_SUCCESS = 0;
export const EXIT_FAIL = 1;
export const EXIT_PANIC = 2;
export const EXIT_REBOOT = 3;
export const EXIT_HOLD = 4;

export type LaunchExitCode = 0 | 1 | 2 | 3 | 4;

export type LaunchOutcome = 'success' | FailureClass;

export interface ExitCodeInput {
  readonly hardened: boolean;
  readonly restartPolicy: RestartPolicy;
  readonly outcome: LaunchOutcome;
}

/** Google's `getExitCode(hardened, policy, err)`, plus the fixed code 1 for metadata errors. */
export function exitCodeFor(input: ExitCodeInput): LaunchExitCode {
  // A metadata error exits 1 before the policy is consulted, even on debug images.
  if (input.outcome === 'metadata') return EXIT_FAIL;
  if (!input.hardened) return EXIT_HOLD;
  const restarts = input.restartPolicy === 'Always' || input.restartPolicy === 'OnFailure';
  switch (input.outcome) {
    case 'success':
      return input.restartPolicy === 'Always' ? EXIT_REBOOT : EXIT_SUCCESS;
    case 'retryable':
    case 'workload':
      return restarts ? EXIT_REBOOT : EXIT_FAIL;
    case 'fatal':
      return EXIT_FAIL;
  }
}

/** The outcome of a failed launch step: a LauncherError says its class; anything else is fatal. */
export function outcomeOf(error: unknown): FailureClass {
  return error instanceof LauncherError ? error.failureClass : 'fatal';
}

/** The outcome of a workload that ran: exit 0 is success, anything else (or a signal) a workload failure. */
export function outcomeOfWorkloadExit(exitCode: number | null): LaunchOutcome {
  return exitCode === 0 ? 'success' : 'workload';
}

/** What the host does with each exit code (`exit_script.sh`): 3 reboots, 4 keeps the VM up, others power off. */
export type HostAction = 'poweroff' | 'reboot' | 'hold';

export function hostActionFor(exitCode: number): HostAction {
  if (exitCode === EXIT_REBOOT) return 'reboot';
  if (exitCode === EXIT_HOLD) return 'hold';
  return 'poweroff';
}
