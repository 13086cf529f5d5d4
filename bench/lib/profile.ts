// CPU profiles of the server under a benchmark: `SEALROOM_BENCH_CPU_PROF=DIR` starts `sealroom serve` with
// `--cpu-prof` into DIR and records each phase's window, so `bench/profile.ts DIR` can summarise phase by phase.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One phase's window on the monotonic clock V8's profiles use (microseconds). */
export interface PhaseWindow {
  readonly name: string;
  readonly startMicros: number;
  readonly endMicros: number;
}

export const PHASES_FILE = 'phases.json';

/**
 * A profile report's arguments: `DIR [phase-substring] [rows]`; prints its usage and exits 2 without DIR.
 */
export function reportArgs(script: string, defaultRows: number): { dir: string; only?: string; rows: number } {
  const [dir, only, rows] = process.argv.slice(2);
  if (!dir) {
    console.error(`usage: npm exec -- node ${script} DIR [phase-substring] [rows, default ${defaultRows}]`);
    process.exit(2);
  }
  return { dir, ...(only === undefined ? {} : { only }), rows: Number(rows ?? defaultRows) };
}
/** Sampling interval: fine enough for a few seconds of a phase, coarse enough not to slow the server much. */
const SAMPLING_INTERVAL_MICROS = 250;

/** The directory profiles go to, when asked for. */
export function profileDir(): string | undefined {
  const dir = process.env.SEALROOM_BENCH_CPU_PROF;
  return dir ? resolve(dir) : undefined;
}

/** `node` flags that write the server's CPU profile on exit, when profiles are asked for. */
export function profileFlags(): string[] {
  const dir = profileDir();
  if (dir === undefined) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${SAMPLING_INTERVAL_MICROS}`];
}

/** The monotonic clock (CLOCK_MONOTONIC, as V8's profile timestamps) in microseconds. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/** Writes the phases' windows beside the profiles. */
export function writePhases(phases: readonly PhaseWindow[]): void {
  const dir = profileDir();
  if (dir === undefined || phases.length === 0) return;
  writeFileSync(join(dir, PHASES_FILE), `${JSON.stringify(phases, null, 2)}\n`);
}
