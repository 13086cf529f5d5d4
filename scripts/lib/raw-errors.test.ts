import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';

/** A raw error: one no catalogue lists, so it has no code for callers, logs and docs/errors.md. */
const RAW = /\bnew (Error|TypeError|RangeError|SyntaxError)\(|\bclass \w+ extends (Error|TypeError|RangeError)\b/;

/** Test support is test code: it may fail with a plain error. */
const TEST_SUPPORT = /(^|\/)(testing|test-[\w-]+|[\w-]+-test-[\w-]+)\.ts$|(^|\/)testing\//;
const ALSO_TEST_SUPPORT = new Set(['packages/verifier/src/tamper-layouts.ts']);

/** The raw errors that stay, each for a reason. */
const ALLOWED: readonly { readonly file: string; readonly line: RegExp; readonly why: string }[] = [
  { file: 'packages/core/src/errors.ts', line: /class SealroomError/, why: 'the base every catalogued error extends' },
  {
    file: 'packages/workload/src/google-clients.ts',
    line: /Object\.assign\(new Error\(message, \{ cause: error \}\), \{ code \}\)/,
    why: 'grpc-js takes a numeric gRPC status in `code`, where a Sealroom error carries its string code',
  },
  {
    file: 'packages/verifier/src/sa-tokens.ts',
    line: /class TokenRefusal extends Error/,
    why: 'internal to the ID-token check: always wrapped in ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN, carrying jose’s reason',
  },
  {
    file: 'packages/pubsub/src/store-nats.ts',
    line: /finish\(new Error\(`consumer not found/,
    why: 'the pull’s own end-of-consumer signal, caught by fetchFrom (binding read again), never surfaced',
  },
];

/**
 * Every package's and example's `src`. The console's browser app (packages/console/app) is not: it runs in
 * the page without @sealroom/core, and its errors are messages shown there, never codes on the wire.
 */
function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
      out.push(path);
  }
  return out;
}

test('production code raises only catalogued errors: no raw Error outside test support', () => {
  const root = resolveRepoRoot();
  const roots = ['packages', 'examples'].flatMap((top) =>
    readdirSync(join(root, top)).map((pkg) => join(root, top, pkg, 'src')),
  );
  const found: string[] = [];
  for (const dir of roots) {
    let files: string[];
    try {
      files = sources(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const path = relative(root, file).split('\\').join('/');
      if (TEST_SUPPORT.test(path) || ALSO_TEST_SUPPORT.has(path)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!RAW.test(line)) return;
          if (ALLOWED.some((a) => a.file === path && a.line.test(line))) return;
          found.push(`${path}:${i + 1}: ${line.trim()}`);
        });
    }
  }
  assert.deepEqual(found, [], 'raise the package’s catalogued error (add a code to its catalogue if none fits)');
});
