// The arguments of `node` that run the test suites: one list for the runner (scripts/test.ts) and its test.
import { fileURLToPath } from 'node:url';

/** Makes each test file's report reach the runner whole before the file's process is made to exit. */
const CHILD_STDOUT_PRELOAD = fileURLToPath(new URL('./test-child-stdout.ts', import.meta.url));

/** `node` arguments that run the test files matching `patterns`, `concurrency` files at a time. */
export function testRunnerArgs(patterns: readonly string[], concurrency = 3): string[] {
  return [
    '--import',
    CHILD_STDOUT_PRELOAD,
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    // A file whose tests are done ends even if something it started keeps its event loop alive.
    '--test-force-exit',
    '--test-reporter=spec',
    ...patterns,
  ];
}
