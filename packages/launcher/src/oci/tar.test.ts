// The tar reader against archives written by GNU tar and by a reference writer, plus arbitrary bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { LauncherError } from '../errors.ts';
import { decompressLayer, parseTar } from './tar.ts';
import { type TestEntry, writeTar } from './tar-writer.test-util.ts';

test('a GNU tar archive with a long name, a symlink, a hard link and a directory parses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-tar-'));
  try {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
    mkdirSync(join(dir, 'src', 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(dir, 'src', long), 'long');
    writeFileSync(join(dir, 'src', 'a.txt'), 'hello', { mode: 0o640 });
    symlinkSync('a.txt', join(dir, 'src', 'link'));
    execFileSync('ln', [join(dir, 'src', 'a.txt'), join(dir, 'src', 'hard')]);
    execFileSync('tar', ['-C', join(dir, 'src'), '--sort=name', '-czf', join(dir, 'l.tgz'), '.']);
    const entries = parseTar(decompressLayer(readFileSync(join(dir, 'l.tgz'))));
    const byPath = new Map(entries.map((e) => [e.path.replace(/^\.\//, ''), e]));
    assert.equal(Buffer.from(byPath.get(long)?.data ?? []).toString(), 'long');
    assert.equal(byPath.get('a.txt')?.mode, 0o640);
    assert.equal(byPath.get('link')?.type, 'symlink');
    assert.equal(byPath.get('link')?.linkTarget, 'a.txt');
    const hard = byPath.get('hard') ?? byPath.get('a.txt');
    assert.ok(
      entries.some((e) => e.type === 'hardlink'),
      JSON.stringify(hard?.type),
    );
    assert.equal(byPath.get(`${'d'.repeat(120)}/`)?.type ?? byPath.get('d'.repeat(120))?.type, 'dir');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const entryArb: fc.Arbitrary<TestEntry> = fc.record({
  path: fc
    .array(
      fc.stringMatching(/^[a-zA-Z0-9_.-]{1,40}$/).filter((s) => s !== '.' && s !== '..'),
      { minLength: 1, maxLength: 6 },
    )
    .map((parts) => parts.join('/')),
  type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 70000 }),
  data: fc.uint8Array({ maxLength: 1500 }),
  linkTarget: fc.stringMatching(/^[a-z/]{1,150}$/),
});

test('whatever the reference writer writes (pax names and links included) reads back the same', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 8 }), fc.boolean(), (entries, gzip) => {
      const tar = writeTar(entries);
      const parsed = parseTar(decompressLayer(gzip ? gzipSync(tar) : tar));
      assert.equal(parsed.length, entries.length);
      parsed.forEach((got, i) => {
        const want = entries[i]!;
        assert.equal(got.path, want.path);
        assert.equal(got.type, want.type);
        assert.equal(got.mode, want.mode);
        assert.equal(got.uid, want.uid);
        if (want.type === 'file') assert.deepEqual(Buffer.from(got.data), Buffer.from(want.data));
        if (want.type === 'symlink') assert.equal(got.linkTarget, want.linkTarget);
      });
    }),
    { numRuns: 150 },
  );
});

test('arbitrary or corrupted bytes give ERR_LAUNCHER_IMAGE_INVALID or entries, never another error', () => {
  const sample = writeTar([{ path: 'a/b', type: 'file', mode: 0o644, uid: 0, data: Buffer.from('x'), linkTarget: '' }]);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 2048 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (noise, at, byte) => {
        for (const input of [noise, Uint8Array.from(sample).fill(byte, at % sample.length, (at % sample.length) + 1)]) {
          try {
            parseTar(decompressLayer(input));
          } catch (error) {
            assert.ok(error instanceof LauncherError, String(error));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a header with a wrong checksum is refused', () => {
  const tar = writeTar([{ path: 'x', type: 'file', mode: 0o644, uid: 0, data: Buffer.from('1'), linkTarget: '' }]);
  tar[0] = 'y'.charCodeAt(0);
  assert.throws(() => parseTar(tar), /checksum/);
});
