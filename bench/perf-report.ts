// Summarises the server profiles a benchmark recorded with `SEALROOM_BENCH_PERF=DIR` (Linux perf, one file per
// phase): where the main thread's CPU time went — by function (self), kernel against user space, and the
// time below each JavaScript function of the project (inclusive).
// Run: npm exec -- node bench/perf-report.ts DIR [phase-substring] [rows]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { reportArgs } from './lib/profile.ts';

const { dir, only, rows: ROWS } = reportArgs('bench/perf-report.ts', 30);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.data') && !f.endsWith('.jit.data'))
  .filter((f) => only === undefined || f.toLowerCase().includes(slug(only)))
  .sort();
if (files.length === 0) {
  console.error(`no perf profile${only ? ` matching "${only}"` : ''} in ${dir}`);
  process.exit(2);
}

interface Line {
  readonly percent: number;
  readonly kernel: boolean;
  readonly symbol: string;
}

for (const file of files) {
  const named = withJitNames(join(dir, file));
  const self = mergeTiers(report(named, false));
  const inclusive = mergeTiers(report(named, true));
  const kernel = self.filter((l) => l.kernel).reduce((sum, l) => sum + l.percent, 0);
  console.log(
    `\n== ${file.replace(/\.data$/, '')}: kernel ${kernel.toFixed(1)} %, user ${(100 - kernel).toFixed(1)} %`,
  );
  console.log('-- self time by function');
  for (const line of self.slice(0, ROWS)) console.log(`  ${format(line)}`);
  console.log("-- time below the project's JavaScript functions (and their callees)");
  const project = inclusive.filter((l) => /JS:.*(packages\/|dist\/chunk-)/.test(l.symbol));
  for (const line of project.slice(0, ROWS)) console.log(`  ${format(line)}`);
}

/**
 * One line per function: V8 names each compiled version by its tier (`JS:~` interpreted, `^` Sparkplug, `+`
 * Maglev, `*` TurboFan), and a hot function runs in several over a phase. Their shares are added (a function
 * that calls itself in another tier is then counted twice; below the project's functions this is rare).
 */
function mergeTiers(lines: readonly Line[]): Line[] {
  const merged = new Map<string, Line>();
  for (const line of lines) {
    const symbol = line.symbol.replace(/^JS:[~^+*]/, 'JS:');
    const seen = merged.get(symbol);
    merged.set(symbol, { ...line, symbol, percent: (seen?.percent ?? 0) + line.percent });
  }
  return [...merged.values()].sort((a, b) => b.percent - a.percent);
}

/** The profile with the JIT dump's functions injected (`perf inject --jit`), made once beside it. */
function withJitNames(file: string): string {
  const out = file.replace(/\.data$/, '.jit.data');
  if (existsSync(out)) return out;
  const run = spawnSync('perf', ['inject', '--jit', '-i', file, '-o', out], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    console.error(`perf inject failed on ${file}: ${run.error?.message ?? run.stderr.trim()}`);
    process.exit(1);
  }
  return out;
}

function slug(text: string): string {
  return text
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

/** `perf report` lines: `  12.34%  [.] symbol` (self), or `  40.00%  1.00%  [.] symbol` (with children). */
function report(file: string, children: boolean): Line[] {
  const run = spawnSync(
    'perf',
    ['report', '-i', file, children ? '--children' : '--no-children', '--sort', 'symbol', '--stdio', '-g', 'none'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (run.error || run.status !== 0) {
    console.error(`perf report failed on ${file}: ${run.error?.message ?? run.stderr.trim()}`);
    process.exit(1);
  }
  const lines: Line[] = [];
  for (const text of run.stdout.split('\n')) {
    const match = /^\s*([\d.]+)%\s+(?:[\d.]+%\s+)?\[([.k])\]\s+(.*?)\s*(?:-\s+-\s*)?$/.exec(text);
    if (match) lines.push({ percent: Number(match[1]), kernel: match[2] === 'k', symbol: match[3] as string });
  }
  return lines;
}

function format(line: Line): string {
  const symbol = line.symbol.replace(/file:\/\/\S*?\/(packages|node_modules)\//, '$1/');
  return `${line.percent.toFixed(2).padStart(6)} %  ${line.kernel ? '[k] ' : ''}${symbol.slice(0, 140)}`;
}
