// Runs the test suites with node's test runner: every *.test.ts under packages/, examples/, test/ and scripts/.
// Arguments narrow the run: `npm run test:unit -- packages/kms` runs only that package's tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = process.argv.slice(2);
const patterns =
  roots.length > 0
    ? roots.map((root) => (root.endsWith('.ts') ? root : `${root.replace(/\/$/, '')}/**/*.test.ts`))
    : ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'];

// Costly fixtures (the Debian base images of the Dockerfile tests) are made once per run, shared here.
const cacheDir = mkdtempSync(join(tmpdir(), 'sealroom-test-run-'));
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=3', '--test-timeout=300000', '--test-reporter=spec', ...patterns],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', SEALROOM_TEST_CACHE_DIR: cacheDir } },
);
rmSync(cacheDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
