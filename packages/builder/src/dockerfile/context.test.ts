import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { BuilderError } from '../errors.ts';
import { readBuildContext, stageBuildContext } from './context.ts';

const work = mkdtempSync(join(tmpdir(), 'sr-context-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The same tree, written under `umask`, files in the given order, stamped with `mtime`. */
function writeTree(dir: string, umask: number, reverse: boolean, mtime: Date): void {
  const previous = process.umask(umask);
  try {
    const files: [string, string, number][] = [
      ['src/main.c', 'int main(void) { return 0; }\n', 0o644],
      ['build.sh', '#!/bin/sh\necho build\n', 0o755],
      ['Dockerfile', 'FROM busybox\n', 0o644],
      ['logs/run.log', 'noise\n', 0o644],
      ['.dockerignore', 'logs\n', 0o644],
    ];
    for (const [path, text, mode] of reverse ? [...files].reverse() : files) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text, { mode: mode & ~umask });
    }
    symlinkSync('src/main.c', join(dir, 'main.c'));
    for (const path of ['src/main.c', 'build.sh', 'Dockerfile', 'src']) utimesSync(join(dir, path), mtime, mtime);
  } finally {
    process.umask(previous);
  }
}

it('gives the same digest for the same content in other folders, umasks, orders and mtimes', () => {
  const a = join(work, 'a');
  const b = join(work, 'elsewhere', 'b');
  writeTree(a, 0o022, false, new Date('2001-01-01'));
  writeTree(b, 0o077, true, new Date('2024-06-01'));
  const ctxA = readBuildContext(a);
  const ctxB = readBuildContext(b);
  assert.equal(ctxA.digest, ctxB.digest);
  assert.deepEqual(
    ctxA.entries.map((e) => [e.path, e.type, e.mode.toString(8)]),
    [
      ['.dockerignore', 'file', '644'],
      ['Dockerfile', 'file', '644'],
      ['build.sh', 'file', '755'],
      ['main.c', 'symlink', '777'],
      ['src', 'dir', '755'],
      ['src/main.c', 'file', '644'],
    ],
  );
  writeFileSync(join(b, 'src', 'main.c'), 'int main(void) { return 1; }\n');
  assert.notEqual(readBuildContext(b).digest, ctxA.digest);
});

it('stages the context with normalised modes and every mtime at the epoch', () => {
  const src = join(work, 'stage-src');
  writeTree(src, 0o077, false, new Date('2010-01-01'));
  const dest = join(work, 'staged');
  stageBuildContext(readBuildContext(src), dest, 1_700_000_000);
  assert.deepEqual(readdirSync(dest).sort(), ['.dockerignore', 'Dockerfile', 'build.sh', 'main.c', 'src']);
  assert.equal(statSync(join(dest, 'build.sh')).mode & 0o777, 0o755);
  assert.equal(statSync(join(dest, 'src', 'main.c')).mode & 0o777, 0o644);
  assert.equal(statSync(join(dest, 'src')).mode & 0o777, 0o755);
  assert.equal(lstatSync(join(dest, 'main.c')).isSymbolicLink(), true);
  for (const path of ['build.sh', 'src', 'src/main.c', '.'])
    assert.equal(statSync(join(dest, path)).mtimeMs, 1_700_000_000_000, path);
});

it('uses an ignore file given for the Dockerfile instead of the context’s own', () => {
  const src = join(work, 'own-ignore');
  writeTree(src, 0o022, false, new Date('2010-01-01'));
  writeFileSync(join(work, 'Dockerfile.dockerignore'), '*\n!src\n');
  assert.deepEqual(
    readBuildContext(src, join(work, 'Dockerfile.dockerignore')).entries.map((e) => e.path),
    ['src', 'src/main.c'],
  );
});

it('refuses a context holding something that is not a file, directory or symlink', () => {
  const src = join(work, 'fifo');
  mkdirSync(src);
  execFileSync('mkfifo', [join(src, 'pipe')]);
  assert.throws(
    () => readBuildContext(src),
    (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_CONTEXT' && /'pipe'/.test(e.message),
  );
});
