// Applying layers: order, whiteouts, opaque directories, links through symlinks, and no escape from the rootfs.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type TestEntry, writeTar } from './tar-writer.test-util.ts';
import { resolveInRoot, unpackLayers } from './unpack.ts';

const base = mkdtempSync(join(tmpdir(), 'sr-unpack-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(base, `r${++n}`, 'rootfs');

const file = (path: string, text: string, mode = 0o644): TestEntry => ({
  path,
  type: 'file',
  mode,
  uid: 0,
  data: Buffer.from(text),
  linkTarget: '',
});
const dir = (path: string, mode = 0o755): TestEntry => ({
  path,
  type: 'dir',
  mode,
  uid: 0,
  data: new Uint8Array(0),
  linkTarget: '',
});
const link = (path: string, target: string): TestEntry => ({
  path,
  type: 'symlink',
  mode: 0o777,
  uid: 0,
  data: new Uint8Array(0),
  linkTarget: target,
});
const layer = (...entries: TestEntry[]) => gzipSync(writeTar(entries));

test('later layers override earlier files and keep modes', async () => {
  const root = fresh();
  await unpackLayers(root, [
    layer(dir('app'), file('app/main.sh', 'v1', 0o755), file('app/conf', 'c')),
    layer(file('app/main.sh', 'v2', 0o700)),
  ]);
  assert.equal(readFileSync(join(root, 'app/main.sh'), 'utf8'), 'v2');
  assert.equal(lstatSync(join(root, 'app/main.sh')).mode & 0o777, 0o700);
  assert.equal(readFileSync(join(root, 'app/conf'), 'utf8'), 'c');
});

test('a whiteout removes a lower file or directory; an opaque whiteout hides the lower directory content', async () => {
  const root = fresh();
  await unpackLayers(root, [
    layer(dir('a'), file('a/x', '1'), file('a/y', '2'), dir('b'), file('b/old', 'o'), file('keep', 'k')),
    layer(file('a/.wh.x', ''), file('b/.wh..wh..opq', ''), file('b/new', 'n')),
  ]);
  assert.ok(!existsSync(join(root, 'a/x')));
  assert.ok(existsSync(join(root, 'a/y')));
  assert.deepEqual(readdirSync(join(root, 'b')), ['new']);
  assert.ok(!existsSync(join(root, 'a/.wh.x')), 'whiteout markers are not files');
});

test('entries of a merged-/usr image land through the /lib symlink', async () => {
  const root = fresh();
  await unpackLayers(root, [
    layer(dir('usr'), dir('usr/lib'), link('lib', 'usr/lib')),
    layer(file('lib/x/libfoo.so', 'so')),
  ]);
  assert.equal(readFileSync(join(root, 'usr/lib/x/libfoo.so'), 'utf8'), 'so');
  assert.equal(readlinkSync(join(root, 'lib')), 'usr/lib');
});

test('a hostile layer cannot write outside the rootfs, through .. or through absolute symlinks', async () => {
  const root = fresh();
  const outside = join(base, 'outside-target');
  await unpackLayers(root, [
    layer(link('evil', outside), link('up', '../../../../..'), file('../../escape-dotdot', 'x')),
    layer(file('evil/pwned', 'x'), file('up/etc/pwned2', 'x')),
  ]);
  assert.ok(!existsSync(join(outside, 'pwned')), 'no write through an absolute symlink');
  assert.ok(!existsSync(join(base, 'escape-dotdot')));
  assert.ok(existsSync(join(root, 'escape-dotdot')), '.. is clamped at the rootfs root');
  assert.ok(existsSync(join(root, outside, 'pwned')), 'the absolute target is taken inside the rootfs');
  assert.ok(existsSync(join(root, 'etc', 'pwned2')));
});

test('resolveInRoot clamps .. at the root and does not follow the last component', async () => {
  const root = fresh();
  await unpackLayers(root, [layer(link('l', '/etc'))]);
  assert.equal(await resolveInRoot(root, 'a/../../../b'), join(root, 'b'));
  assert.equal(await resolveInRoot(root, 'l'), join(root, 'l'));
  assert.equal(await resolveInRoot(root, 'l/passwd'), join(root, 'etc', 'passwd'));
});

test('a file replacing a directory and a directory replacing a file both work', async () => {
  const root = fresh();
  await unpackLayers(root, [
    layer(dir('p'), file('p/q', '1'), file('f', '1')),
    layer(file('p', 'now a file'), dir('f')),
  ]);
  assert.equal(readFileSync(join(root, 'p'), 'utf8'), 'now a file');
  assert.ok(lstatSync(join(root, 'f')).isDirectory());
});
