// Benchmark: `npm start` as a new user meets it: a fresh clone of this checkout's commit, `npm ci`, then
// `npm start` timed from the command to the result ("Press Ctrl-C to stop."): cold (an empty cache folder: the
// runtime layer is built from scratch), warm (the same cache, a fresh state directory) and again (a second
// npm start on the same state and cache). Each run lists its steps (the scenario's sections and every
// "✓ … (N s)" line) with when they started and how long they took, and the CPU seconds it used, next to
// this machine's load and `node -e 0` measured in the same run. The goal is ≤ 30 s.
// Run: npm exec -- node bench/start.ts [cold,warm,again,...] (default: cold,warm,again)
//      BENCH_START_CHECKOUT=DIR: time `npm start` in that checkout (already installed) instead of a fresh clone.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';

const RUNS = (process.argv[2] ?? 'cold,warm,again').split(',').filter(Boolean);
const RUN_TIMEOUT_MS = 300_000;
const root = resolveRepoRoot();
const work = mkdtempSync(join(tmpdir(), 'sealroom-bench-start-'));
const checkout = process.env.BENCH_START_CHECKOUT;
const clone = checkout ?? join(work, 'clone');
const cache = join(work, 'cache');
const seconds = (ms: number) => (ms / 1000).toFixed(1).padStart(6);

interface Step {
  readonly title: string;
  readonly at: number;
  /** The step's own figure ("✓ … (N s)"), else the time to the next section. */
  duration: number;
}

interface Run {
  readonly name: string;
  readonly totalMs: number;
  /** CPU seconds of npm start's process group (user + system, its reaped children included) at the result. */
  readonly cpuSeconds: number;
  readonly steps: readonly Step[];
  readonly ok: boolean;
}

/** Runs `npm start` in the clone until it prints its closing line, then Ctrl-C (SIGINT to its process group). */
function runStart(name: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const started = performance.now();
  const child = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const steps: Step[] = [];
  let section: Step | undefined;
  let output = '';
  let done = false;
  let ok = false;
  let totalMs = 0;
  let cpuSeconds = 0;
  const closeSection = (now: number) => {
    if (section && section.duration < 0) section.duration = now - section.at;
  };
  const onLine = (line: string) => {
    const now = performance.now() - started;
    output += `${line}\n`;
    if (line.startsWith('## ')) {
      closeSection(now);
      section = { title: line.slice(3), at: now, duration: -1 };
      steps.push(section);
    }
    const tick = /✓ (.*) \((\d+(?:\.\d+)?) s\)\s*$/.exec(line);
    if (tick?.[1] && tick[2]) {
      const duration = Number(tick[2]) * 1000;
      steps.push({ title: `  ✓ ${tick[1].replace(/sha256:[0-9a-f]{64}/, 'sha256:…')}`, at: now - duration, duration });
    }
    if (line.startsWith('The scenario failed') || /^npm start:/.test(line)) ok = false;
    if (!done && line.includes('Press Ctrl-C to stop.')) {
      done = true;
      totalMs = now;
      closeSection(now);
      ok = !output.includes('The scenario failed') && /alice = 2/.test(output);
      if (child.pid) {
        cpuSeconds = groupCpuSeconds(child.pid);
        process.kill(-child.pid, 'SIGINT');
      }
    }
  };
  const split = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  };
  split(child.stdout);
  split(child.stderr);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      if (!done) {
        process.stdout.write(`${name}: npm start ended before its result:\n${output.slice(-4000)}\n`);
        totalMs = performance.now() - started;
      }
      resolve({ name, totalMs, cpuSeconds, steps, ok: done && ok });
    });
  });
}

/** utime + stime + cutime + cstime of every process in group `pgid`, from /proc (clock ticks of 1/100 s). */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

function nodeStartMs(): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[2] ?? 0;
}

try {
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: checkout ?? root, encoding: 'utf8' }).trim();
  process.stdout.write(
    `npm start ${checkout === undefined ? 'from a fresh clone of' : 'in a checkout of'} ${commit.slice(0, 12)}; ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; node -e 0: ${nodeStartMs().toFixed(0)} ms\n`,
  );
  if (checkout === undefined) {
    let t = performance.now();
    execFileSync('git', ['clone', '--quiet', '--no-local', root, clone], { stdio: 'inherit' });
    execFileSync('git', ['checkout', '--quiet', commit], { cwd: clone, stdio: 'inherit' });
    process.stdout.write(`git clone: ${seconds(performance.now() - t)} s\n`);
    t = performance.now();
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: clone, stdio: 'ignore' });
    process.stdout.write(`npm ci:    ${seconds(performance.now() - t)} s (not part of the goal)\n`);
  }

  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache };
  for (const key of ['SEALROOM_CACHE_DIR', 'SEALROOM_STATE_DIR', 'SEALROOM_PORT', 'SEALROOM_GRPC_PORT', 'NODE_OPTIONS'])
    delete env[key];
  const runs: Run[] = [];
  let lastState: string | undefined;
  for (const [index, name] of RUNS.entries()) {
    if (name === 'cold') rmSync(cache, { recursive: true, force: true });
    // `again`: a second npm start on the previous run's state (the user's next day); otherwise a fresh state.
    const state = name === 'again' && lastState ? lastState : join(work, `state-${index}`);
    lastState = state;
    const run = await runStart(name, { ...env, SEALROOM_STATE_DIR: state });
    runs.push(run);
    process.stdout.write(
      `\n${name}: ${seconds(run.totalMs)} s from \`npm start\` to the result${run.ok ? '' : ' (FAILED)'}; ` +
        `${run.cpuSeconds.toFixed(1)} CPU s; load ${loadavg()[0]?.toFixed(1)}\n`,
    );
    for (const step of run.steps)
      process.stdout.write(`  at ${seconds(step.at)} s  ${seconds(step.duration)} s  ${step.title.slice(0, 110)}\n`);
  }
  process.stdout.write('\nrun    total     CPU    goal\n');
  for (const run of runs)
    process.stdout.write(
      `${run.name.padEnd(6)} ${seconds(run.totalMs)} s ${seconds(run.cpuSeconds * 1000)} s  ≤ 30 s ${run.ok ? (run.totalMs <= 30_000 ? 'met' : 'missed') : 'FAILED'}\n`,
    );
  process.exitCode = runs.every((r) => r.ok) ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
