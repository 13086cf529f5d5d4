// Figures of another process read from /proc (Linux): CPU time, resident memory and open file descriptors.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on every Linux architecture in use). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) the process has used so far, in microseconds. */
export function cpuMicros(pid: number): number {
  return ticksToMicros(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * CPU time of the process's main thread alone (Node's event loop: JavaScript, parsing, synchronous crypto and
 * SQLite), in microseconds. The thread pool, the GC helpers and the compiler threads are left out: the event loop
 * is what one process can use at most one core of.
 */
export function mainThreadCpuMicros(pid: number): number {
  return ticksToMicros(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
}

function ticksToMicros(stat: string): number {
  // Fields after the command name, which is in parentheses and may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

/** Number of open file descriptors (entries of /proc/<pid>/fd). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The machine, for the figures' context: cores, CPU model, Node version, load average at the start. */
export function describeMachine(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${cores} cores, ${model}, Node ${process.version}, load average ${load}`;
}
