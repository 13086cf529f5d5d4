// Benchmark: how long a `sealroom` command takes to start, with hyperfine, next to `node -e 0` on the same
// (pinned) Node: the installed bundle (bin/sealroom, dist/) for simple commands, and the sources as the
// in-repo fallback runs them. The goal is a simple command within 2× `node -e 0`.
// Run: npm exec -- node bench/cli.ts [runs]   (needs hyperfine and a built CLI: npm run build -w @sealroom/cli)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';

const RUNS = Number(process.argv[2] ?? 20);
const root = resolveRepoRoot();
const node = process.execPath;
const shim = join(root, 'packages', 'cli', 'bin', 'sealroom');
const dir = mkdtempSync(join(tmpdir(), 'sealroom-bench-cli-'));
const sources = `${node} --input-type=module -e "process.exitCode = await (await import('${join(root, 'packages', 'cli', 'src', 'main.ts')}')).main(process.argv.slice(1))" --`;
const cases: [string, string][] = [
  ['node -e 0', `${node} -e 0`],
  ['sealroom --version', `${shim} --version`],
  ['sealroom config list', `${shim} config list`],
  ['sealroom kms --help', `${shim} kms --help`],
  ['sealroom config list (sources)', `${sources} config list`],
];
const json = join(dir, 'results.json');
const result = spawnSync(
  'hyperfine',
  [
    '-N',
    '--warmup',
    '3',
    '--runs',
    String(RUNS),
    '--export-json',
    json,
    ...cases.flatMap(([name, command]) => ['-n', name, command]),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, XDG_CONFIG_HOME: dir } },
);
if (result.status !== 0) {
  process.stderr.write(`hyperfine failed (${result.error?.message ?? `exit ${result.status}`}); is it installed?\n`);
  process.exit(1);
}
const { results } = JSON.parse(readFileSync(json, 'utf8')) as {
  results: { command: string; mean: number; stddev: number; min: number; user: number; system: number }[];
};
const base = results[0];
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const ratio = (of: (r: (typeof results)[number]) => number, r: (typeof results)[number]) =>
  base ? (of(r) / of(base)).toFixed(2) : '-';
// On a busy machine the mean wall time mostly measures waiting for a CPU: the fastest run and the CPU time
// (user+sys, the command's own and its children's) say more; each ratio is to `node -e 0`'s.
const cpu = (r: (typeof results)[number]) => r.user + r.system;
process.stdout.write(
  `${'command'.padEnd(32)} ${'wall (mean ± σ)'.padEnd(22)} ${'fastest'.padEnd(10)} ${'user+sys'.padEnd(10)} × node -e 0 (mean, fastest, CPU)\n`,
);
for (const r of results) {
  process.stdout.write(
    `${r.command.padEnd(32)} ${`${ms(r.mean)} ± ${ms(r.stddev)}`.padEnd(22)} ${ms(r.min).padEnd(10)} ${ms(cpu(r)).padEnd(10)} ${ratio((x) => x.mean, r)}, ${ratio((x) => x.min, r)}, ${ratio(cpu, r)}\n`,
  );
}
process.stdout.write(
  `load average during the run: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
rmSync(dir, { recursive: true, force: true });
