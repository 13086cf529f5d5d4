import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testRunnerArgs } from './test-args.ts';

const FILES = 12;
const SUITES = 4;
const TESTS = 30;

/** Runs the runner as scripts/test.ts does, over `files`, outside this file's own test context. */
function runRunner(files: readonly string[], env: Record<string, string> = {}) {
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  return spawnSync(process.execPath, testRunnerArgs(files), {
    encoding: 'utf8',
    env: { ...inherited, ...env },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
}

test('the runner counts every test of many fast files, and prints its summary', () => {
  // Long names fill the pipe between a file's process and the runner, where an exit with writes still queued used
  // to drop results; the runner's own report, cut short when it was made to exit, lost its summary.
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-runner-'));
  try {
    const body = `import { describe, test } from 'node:test';
const long = 'x'.repeat(3000);
for (let s = 0; s < ${SUITES}; s++) describe(\`suite \${s} \${long}\`, () => {
  for (let t = 0; t < ${TESTS}; t++) test(\`t\${t} \${long}\`, () => {});
});
`;
    const files: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const file = join(dir, `f${i}.test.mjs`);
      writeFileSync(file, body);
      files.push(file);
    }
    // Four runs: both losses were intermittent.
    for (let run = 0; run < 4; run++) {
      const result = runRunner(files);
      assert.equal(result.status, 0, result.stderr);
      const shown = (text: string) => text.replace(/x{20,}/g, (xs) => `x…(${xs.length})`);
      const ending = `${result.stdout.length} characters of output, ending: ${shown(result.stdout.slice(-3000))}`;
      // The summary is found wherever its line starts (a child's unparsed output may end without a newline).
      const summary = [...result.stdout.matchAll(/ℹ tests (\d+)$/gm)].at(-1)?.[1];
      assert.equal(Number(summary), FILES * SUITES * TESTS, `run ${run + 1}: the summary; ${ending}`);
      const results = result.stdout.match(/^ *✔ t\d+ x+ \(/gm)?.length ?? 0;
      assert.equal(results, FILES * SUITES * TESTS, `run ${run + 1}: every test's result; ${ending}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that leaves a handle open is ended once its tests are done, and its results count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-runner-'));
  try {
    const lingering = join(dir, 'lingering.test.mjs');
    writeFileSync(
      lingering,
      `import { after, test } from 'node:test';
import { createServer } from 'node:net';
test('leaves a server listening', () => { createServer().listen(0, '127.0.0.1'); });
test('fails', () => { throw new Error('the failure'); });
after(() => new Promise((resolve) => setTimeout(resolve, 200)));
`,
    );
    const clean = join(dir, 'clean.test.mjs');
    writeFileSync(clean, `import { test } from 'node:test';\ntest('passes', () => {});\n`);
    const started = Date.now();
    const result = runRunner([lingering, clean], { SEALROOM_TEST_LINGER_MS: '1500' });
    const elapsed = Date.now() - started;
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stdout, /ℹ tests 3$/m);
    assert.match(result.stdout, /ℹ pass 2$/m);
    assert.match(result.stdout, /ℹ fail 1$/m);
    assert.match(
      result.stdout,
      /lingering\.test\.mjs: still running 1\.5 s after its tests were done \(open: [^)]*TCPServerWrap[^)]*\)/,
    );
    assert.doesNotMatch(result.stdout, /clean\.test\.mjs: still running/);
    // Ended by the preload, not by the spawn's own two-minute limit.
    assert.ok(elapsed < 60_000, `the run took ${elapsed} ms`);
    assert.equal(result.signal, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
