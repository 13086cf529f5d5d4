// Runs the test suites with node's test runner: every *.test.ts under packages/, examples/, test/ and scripts/.
// Arguments narrow the run: `npm run test:unit -- packages/kms` runs only that package's tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRunnerArgs } from './lib/test-args.ts';

const roots = process.argv.slice(2);
const patterns =
  roots.length > 0
    ? roots.map((root) => (root.endsWith('.ts') ? root : `${root.replace(/\/$/, '')}/**/*.test.ts`))
    : ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'];

/**
 * The whole run's limit: a test file whose process never ends (a handle left open after a timeout) must fail
 * the run, not hold it until the CI machine gives up. `SEALROOM_TEST_RUN_MINUTES` changes it.
 */
const runMinutes = Number(process.env.SEALROOM_TEST_RUN_MINUTES ?? 55);

// Costly fixtures (the Debian base images of the Dockerfile tests) are made once per run, shared here.
const cacheDir = mkdtempSync(join(tmpdir(), 'sealroom-test-run-'));
const child = spawn(process.execPath, testRunnerArgs(patterns), {
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, NODE_ENV: 'test', SEALROOM_TEST_CACHE_DIR: cacheDir },
});

/** Ends the runner and every test process under it (they share its process group). */
const killAll = (signal: NodeJS.Signals) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
};
const limit = setTimeout(() => {
  process.stderr.write(`\nThe test run exceeded ${runMinutes} minutes: stopping it (SEALROOM_TEST_RUN_MINUTES).\n`);
  killAll('SIGTERM');
  setTimeout(() => killAll('SIGKILL'), 10_000).unref();
}, runMinutes * 60_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => killAll(signal));

child.on('exit', (code) => {
  clearTimeout(limit);
  rmSync(cacheDir, { recursive: true, force: true });
  process.exit(code ?? 1);
});
