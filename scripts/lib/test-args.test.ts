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

test('the runner counts every test of many fast files, each ended by --test-force-exit', () => {
  // Long names fill the pipe between a file's process and the runner, where a forced exit used to drop results.
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
    // Three runs: the loss was intermittent (it showed in four runs of four without the preload).
    for (let run = 0; run < 3; run++) {
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const result = spawnSync(process.execPath, testRunnerArgs(files), {
        encoding: 'utf8',
        env,
        maxBuffer: 256 * 1024 * 1024,
        timeout: 120_000,
      });
      assert.equal(result.status, 0, result.stderr);
      // The summary's count, wherever its line starts: a child's unparsed output may end without a newline.
      const counted = [...result.stdout.matchAll(/ℹ tests (\d+)$/gm)].at(-1)?.[1];
      // Where the summary is, if it is anywhere (a failure here once showed only the output's last 600 characters,
      // a test name's x's): what surrounds it, and how the output ends, with the x's of the names shortened.
      const at = result.stdout.lastIndexOf('ℹ tests');
      const shown = (text: string) => text.replace(/x{20,}/g, (run) => `x…(${run.length})`);
      assert.equal(
        Number(counted),
        FILES * SUITES * TESTS,
        `run ${run + 1}: every test counted; ${result.stdout.length} characters of output; the summary ${
          at < 0 ? 'is missing' : `at ${at}: ${shown(result.stdout.slice(Math.max(0, at - 300), at + 300))}`
        }; the output ends: ${shown(result.stdout.slice(-3000))}; stderr: ${shown(result.stderr.slice(-1000))}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
