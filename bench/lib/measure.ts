// One benchmark run: phases against processes under test, each with the server's CPU time per request from
// /proc, and the table every HTTP/gRPC benchmark prints (req/s, p50, p99, CPU per request, ratios, goals).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GrpcLoadSpec, runGrpcLoad } from './grpc-load.ts';
import { cpuMicros, describeMachine, mainThreadCpuMicros } from './proc.ts';
import { recordPhase, requirePerf } from './perf.ts';
import { monotonicMicros, type PhaseWindow, writePhases } from './profile.ts';
import { type LoadResult, requireWrk, runWrk, type WrkRequest } from './wrk.ts';

export interface Row extends LoadResult {
  readonly name: string;
  /** Server CPU time (all threads) per successful request, in microseconds. */
  readonly cpuMicrosPerRequest: number;
  /** The server's main thread (the event loop) alone, per successful request, in microseconds. */
  readonly loopMicrosPerRequest: number;
}

export interface Goal {
  /** The row this goal is about, the row it is compared with, and the least ratio the issue asks for. */
  readonly row: string;
  readonly of: string;
  readonly atLeast: number;
  /** A bound on the row's p99 latency, where the issue sets one. */
  readonly p99BelowMs?: number;
  readonly label: string;
}

export interface BenchRun {
  readonly seconds: number;
  readonly connections: number;
  /** A scratch directory for wrk's scripts and request files, removed by `finish`. */
  readonly scratchDir: string;
  /** `wrk` against `baseUrl` for `seconds` (with the run's connections, or `connections`), sampling process `pid`. */
  http(
    name: string,
    target: { pid: number; url: string },
    request: WrkRequest,
    requestFile?: string,
    connections?: number,
  ): Promise<Row>;
  /** The gRPC worker process against the server `pid`. */
  grpc(name: string, pid: number, spec: Omit<GrpcLoadSpec, 'seconds' | 'concurrency'>): Promise<Row>;
  /** Prints the table, then each goal's ratio and whether it is met; removes the scratch directory. */
  finish(goals?: readonly Goal[]): Row[];
}

const usage = (name: string) =>
  `usage: npm exec -- node bench/${name}.ts [seconds-per-phase, default 5] [connections, default 32]`;

/** Parses `[seconds] [connections]`, checks for wrk (exit 2 without it) and prints the machine. */
export function startRun(name: string, title: string): BenchRun {
  const seconds = Number(process.argv[2] ?? 5);
  const connections = Number(process.argv[3] ?? 32);
  if (!(seconds > 0) || !(connections > 0)) {
    console.error(usage(name));
    process.exit(2);
  }
  requireWrk();
  requirePerf();
  console.log(`bench/${name}: ${title}`);
  console.log(`${seconds} s per phase, wrk -t1 -c${connections} (its own process); ${describeMachine()}`);
  const scratchDir = mkdtempSync(join(tmpdir(), `sealroom-bench-${name}-`));
  const rows: Row[] = [];
  const phases: PhaseWindow[] = [];
  const record = (name: string, result: LoadResult, cpuUs: number, loopUs: number): Row => {
    const ok = result.rps * result.seconds;
    const row = {
      name,
      ...result,
      cpuMicrosPerRequest: ok > 0 ? cpuUs / ok : Number.NaN,
      loopMicrosPerRequest: ok > 0 ? loopUs / ok : Number.NaN,
    };
    rows.push(row);
    console.log(`  … ${formatRow(row)}`);
    return row;
  };
  return {
    seconds,
    connections,
    scratchDir,
    async http(name, target, request, requestFile, phaseConnections = connections) {
      const before = cpuMicros(target.pid);
      const loopBefore = mainThreadCpuMicros(target.pid);
      const startMicros = monotonicMicros();
      const recorded = recordPhase(target.pid, name, seconds);
      const result = await runWrk(target.url, request, {
        seconds,
        connections: phaseConnections,
        scratchDir,
        ...(requestFile === undefined ? {} : { requestFile }),
      });
      phases.push({ name, startMicros, endMicros: monotonicMicros() });
      await recorded();
      return record(name, result, cpuMicros(target.pid) - before, mainThreadCpuMicros(target.pid) - loopBefore);
    },
    async grpc(name, pid, spec) {
      let before = 0;
      let after = 0;
      let loopBefore = 0;
      let loopAfter = 0;
      let startMicros = 0;
      let recorded = async () => {};
      const result = await runGrpcLoad(
        { ...spec, seconds, concurrency: connections },
        {
          onStart: () => {
            before = cpuMicros(pid);
            loopBefore = mainThreadCpuMicros(pid);
            startMicros = monotonicMicros();
            recorded = recordPhase(pid, name, seconds);
          },
          onEnd: () => {
            after = cpuMicros(pid);
            loopAfter = mainThreadCpuMicros(pid);
            phases.push({ name, startMicros, endMicros: monotonicMicros() });
          },
        },
      );
      await recorded();
      return record(name, result, after - before, loopAfter - loopBefore);
    },
    finish(goals = []) {
      rmSync(scratchDir, { recursive: true, force: true });
      writePhases(phases);
      printTable(rows, goals);
      return rows;
    },
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function formatRow(row: Row, ratio?: string): string {
  return [
    row.name.padEnd(44),
    fixed(row.rps, 0).padStart(8),
    fixed(row.p50Ms, 2).padStart(8),
    fixed(row.p99Ms, 2).padStart(8),
    fixed(row.cpuMicrosPerRequest, 0).padStart(8),
    fixed(row.loopMicrosPerRequest, 0).padStart(8),
    ratio === undefined ? '' : ratio.padStart(10),
    row.failed > 0 ? `  (${row.failed} failed)` : '',
  ].join('');
}

function printTable(rows: readonly Row[], goals: readonly Goal[]): void {
  const healthz = rows.find((r) => r.name.startsWith('GET /healthz'));
  console.log(
    `\n${'phase'.padEnd(44)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU µs'.padStart(8)}${'loop µs'.padStart(8)}${'×healthz'.padStart(10)}`,
  );
  for (const row of rows) {
    console.log(formatRow(row, healthz ? fixed(row.rps / healthz.rps, 2) : '–'));
  }
  if (goals.length > 0) console.log('\nperformance goals (ratios within this run):');
  for (const goal of goals) {
    const row = rows.find((r) => r.name === goal.row);
    const of = rows.find((r) => r.name === goal.of);
    if (!row || !of) continue;
    const ratio = row.rps / of.rps;
    const p99Met = goal.p99BelowMs === undefined || row.p99Ms < goal.p99BelowMs;
    const met = ratio >= goal.atLeast && p99Met && row.failed === 0;
    const p99 = goal.p99BelowMs === undefined ? '' : `, p99 ${fixed(row.p99Ms, 1)} ms (goal < ${goal.p99BelowMs})`;
    console.log(
      `  ${goal.label.padEnd(52)} ${fixed(ratio, 2).padStart(6)} (goal ≥ ${fixed(goal.atLeast, 2)})${p99}  ${met ? 'met' : 'NOT met'}`,
    );
  }
  console.log('CPU µs: server CPU time (user + system, all threads, from /proc/<pid>/stat) per successful request;');
  console.log('loop µs: the same for the main thread alone (the event loop, /proc/<pid>/task/<pid>/stat).');
}
