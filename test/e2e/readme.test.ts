// README.md and docs/ run as written: their shell blocks (scripts/lib/doc-blocks.ts says which), in reading
// order, in one shell, against a fresh `sealroom serve --dev` on a free port, with only what the README tells a
// reader to set (SEALROOM_API). The first block that fails fails the test and is named with its output. Then
// examples/wordcount/tutorial.sh, twice, against the same server.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';
import { collectDocBlocks } from '../support/doc-blocks.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const root = resolveRepoRoot();
const RUN_TIMEOUT_MS = 600_000;
let server: ServerProcess;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealroom-readme-'));
  server = await startServerProcess({ readyTimeoutMs: 120_000 });
});

after(async () => {
  await server?.stop();
  server?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `bash ARGS` in `cwd` as a reader would, against the test's server; resolves with its code and output. */
function runBash(
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [...args], {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_CACHE_HOME: join(dir, 'cache'),
        SEALROOM_API: server.url,
      },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;

test('every shell block of the README’s role sections and of docs/ runs as written', {
  timeout: RUN_TIMEOUT_MS,
}, async (t) => {
  const blocks = collectDocBlocks(root);
  assert.ok(blocks.length >= 5, 'the README has runnable blocks');
  const marker = join(dir, 'current-block');
  const script: string[] = [
    'set -eo pipefail',
    // `npx sealroom` as the README writes it: the workspace's own binaries, never a registry download.
    `export PATH=${JSON.stringify(join(root, 'node_modules', '.bin'))}:"$PATH"`,
    'npx() { "$@"; }',
  ];
  for (const block of blocks) {
    const missing = block.needs.filter((program) => !has(program));
    if (missing.length > 0) {
      t.diagnostic(`${block.where} skipped: it needs ${missing.join(', ')}, which this machine lacks`);
      continue;
    }
    script.push(`printf '%s' ${JSON.stringify(block.where)} > ${JSON.stringify(marker)}`);
    script.push(`echo "### ${block.where}"`, block.code);
  }
  script.push(`printf 'done' > ${JSON.stringify(marker)}`);
  const file = join(dir, 'blocks.sh');
  writeFileSync(file, `${script.join('\n')}\n`);
  // The reader's folder: the repository's examples beside whatever the blocks write.
  const cwd = join(dir, 'work');
  spawnSync('mkdir', ['-p', cwd]);
  symlinkSync(join(root, 'examples'), join(cwd, 'examples'));
  const result = await runBash([file], cwd, RUN_TIMEOUT_MS - 30_000);
  const last = readFileSync(marker, 'utf8');
  const tail = result.output.slice(result.output.lastIndexOf(`### ${last}`)).slice(-4000);
  assert.equal(result.code, 0, `the block at ${last} failed (exit ${result.code}):\n${tail}`);
  assert.equal(last, 'done');
});

test('examples/wordcount/tutorial.sh runs as written, twice on the same server, mTLS send included', {
  timeout: 2 * RUN_TIMEOUT_MS,
}, async () => {
  const tutorial = join(root, 'examples', 'wordcount', 'tutorial.sh');
  for (const run of [1, 2]) {
    const result = await runBash([tutorial], dir, RUN_TIMEOUT_MS - 30_000);
    const tail = result.output.slice(-4000);
    // A failed run also shows what the server warned about (the script's own output shows the console).
    const warnings = () =>
      server
        .logs()
        .split('\n')
        .filter((line) => /"level":"(warn|error)"/.test(line))
        .slice(-30)
        .join('\n');
    assert.equal(result.code, 0, `run ${run} of tutorial.sh failed (exit ${result.code}):\n${tail}\n${warnings()}`);
    // Both collaborators' results count alice (Pub/Sub) and bob (mTLS) twice: one from each.
    assert.equal(result.output.match(/"alice": 2/g)?.length, 2, tail);
    assert.equal(result.output.match(/"bob": 2/g)?.length, 2, tail);
  }
});
