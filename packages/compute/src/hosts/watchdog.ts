// The host agent's watchdog: a child that outlives the agent only to kill the agent's containers when it dies.
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Waits for its stdin to close (the agent exited, however: SIGKILL included, as the kernel closes the pipe),
 * then force-deletes every runc container under the agent's instance directories. It runs in its own session
 * so that a signal to the agent's process group does not take it first.
 */
const SCRIPT = `cat >/dev/null
for root in "$1"/*/work/runc; do
  [ -d "$root" ] || continue
  for id in $("$2" --root "$root" list -q 2>/dev/null); do
    "$2" --root "$root" kill "$id" KILL >/dev/null 2>&1
    "$2" --root "$root" delete --force "$id" >/dev/null 2>&1
  done
done`;

export interface Watchdog {
  /** The agent stopped its instances itself: the watchdog sweeps once more and exits. */
  release(): Promise<void>;
  readonly pid: number | undefined;
}

export function startWatchdog(instancesDir: string, runcBinary = 'runc'): Watchdog {
  const child: ChildProcess = spawn('/bin/sh', ['-c', SCRIPT, 'sealroom-host-watchdog', instancesDir, runcBinary], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid,
    async release() {
      // Held again so that this process waits for the last sweep before it exits.
      child.ref();
      child.stdin?.end();
      await exited;
    },
  };
}
