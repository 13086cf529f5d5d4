// The arguments of `node` that run the test suites: one list for the runner (scripts/test.ts) and its test.
import { fileURLToPath } from 'node:url';

/** Makes each test file's report reach the runner whole, and ends the file's process once its tests are done. */
const FILE_PROCESS_PRELOAD = fileURLToPath(new URL('./test-file-process.ts', import.meta.url));

/** `node` arguments that run the test files matching `patterns`, `concurrency` files at a time. */
export function testRunnerArgs(patterns: readonly string[], concurrency = 3): string[] {
  return [
    '--import',
    FILE_PROCESS_PRELOAD,
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    '--test-reporter=spec',
    ...patterns,
  ];
}
