// Linux `perf` profiles of the server under a benchmark: `SEALROOM_BENCH_PERF=DIR` starts `sealroom serve`
// writing V8's JIT dump into DIR (every compiled function, with when it was made, so code V8 later drops and
// replaces at the same address keeps its own name) and records each phase's main thread with `perf record`
// into DIR/<phase>.data, so `bench/perf-report.ts DIR` can summarise phase by phase. Unlike
// `--cpu-prof`, perf samples CPU time, not wall time, and sees into the kernel and native code: a socket
// write's loopback delivery, OpenSSL, SQLite, the garbage collector.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Samples per second: ~1 every 1 ms of a busy thread, enough for a few seconds of a phase. */
const FREQUENCY = 999;

/** The directory perf profiles go to, when asked for. */
export function perfDir(): string | undefined {
  const dir = process.env.SEALROOM_BENCH_PERF;
  return dir ? resolve(dir) : undefined;
}

/** Says in one line why perf cannot record, and exits 2, when profiles are asked for and it cannot. */
export function requirePerf(): void {
  const dir = perfDir();
  if (dir === undefined) return;
  const probe = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    console.error('SEALROOM_BENCH_PERF needs Linux perf (Debian: apt-get install linux-perf).');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
}

/** `node` flags that write the JIT dump perf needs to name compiled functions, when profiles are asked for. */
export function perfFlags(): string[] {
  const dir = perfDir();
  if (dir === undefined) return [];
  // V8 also opens its log file when profiling for perf: it goes beside the dump, not into the working directory.
  return [
    '--perf-prof',
    `--perf-prof-path=${dir}`,
    `--logfile=${join(dir, 'v8.log')}`,
    '--interpreted-frames-native-stack',
  ];
}

/** The file a phase's profile is written to. */
export const perfFileOf = (dir: string, phase: string): string =>
  join(dir, `${phase.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.data`);

/**
 * Starts recording `pid`'s main thread for `seconds`, when profiles are asked for; the returned function waits
 * for the recording to be written.
 */
export function recordPhase(pid: number, phase: string, seconds: number): () => Promise<void> {
  const dir = perfDir();
  if (dir === undefined) return async () => {};
  const child: ChildProcess = spawn(
    'perf',
    [
      'record',
      '-q',
      // The JIT dump's timestamps are CLOCK_MONOTONIC: perf inject needs the samples on the same clock.
      '-k',
      'mono',
      '-F',
      String(FREQUENCY),
      '-g',
      '-t',
      String(pid),
      '-o',
      perfFileOf(dir, phase),
      '--',
      'sleep',
      String(seconds),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const done = new Promise<void>((settle) => {
    child.once('exit', () => settle());
    child.once('error', (error) => {
      console.error(`perf record failed: ${error.message}`);
      settle();
    });
  });
  return () => done;
}
