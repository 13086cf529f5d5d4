// A watchdog beside each container that kills it when the launcher dies without stopping it (a crash, a SIGKILL).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface Reaper {
  /** The container ended normally: the watchdog leaves without doing anything. */
  release(): void;
}

/** Quotes one word for `sh`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `sh` in a session of its own, reading a pipe only this process writes to. When this process
 * exits for any reason the kernel closes the pipe; the watchdog then reads end-of-file and runs
 * `killScript` (e.g. `runc delete --force ID`, or `kill -KILL -PGID`). A normal end writes `done` first.
 * This works for runc, whose foreground `runc run` would otherwise outlive the launcher with its
 * container, and for the plain process, which PR_SET_PDEATHSIG (bwrap's --die-with-parent) cannot
 * cover from Node.
 */
export function startReaper(killScript: string): Reaper {
  const child = spawn('/bin/sh', ['-c', `read line; [ "$line" = done ] || { ${killScript} ; } >/dev/null 2>&1`], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => {
    // No shell: nothing watches this container, as before the watchdog existed.
  });
  child.stdin?.on('error', () => {});
  // Neither the watchdog nor its pipe keeps the launcher's event loop alive.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      child.stdin?.end('done\n');
    },
  };
}
