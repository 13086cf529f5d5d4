import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BuilderError } from '../errors.ts';
import { readTar, type TarEntry, writeTar } from '../tar.ts';
import { applyLayerTo, diffStates, dropEngineMountPoints, type FsState, toLayerTar } from './layers.ts';

/** A tar with exactly these entries in this order and this mtime (as an engine might write them). */
function rawTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const parts = entries.map((e) => {
    const one = writeTar([e], { mtimeSeconds: mtime });
    // writeTar adds the parent directories first, one header each: keep only the entry itself.
    const parents = e.path.split('/').length - 1;
    return one.subarray(parents * 512, one.length - 1024);
  });
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

const file = (
  path: string,
  text: string,
  extra: Partial<{ mode: number; uid: number; gid: number }> = {},
): TarEntry => ({
  type: 'file',
  path,
  content: Buffer.from(text),
  ...extra,
});
const dir = (path: string, mode = 0o755): TarEntry => ({ type: 'dir', path, mode });

function stateOf(...layers: Buffer[]): FsState {
  const state: FsState = new Map();
  for (const layer of layers) applyLayerTo(state, layer, false);
  return state;
}

const BASE = rawTar([
  dir('etc'),
  file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'),
  dir('etc/sub'),
  file('etc/sub/b', 'b'),
  file('etc/keep', 'k'),
  dir('tmp', 0o1777),
  file('bin', 'not a dir'),
]);

const paths = (entries: readonly TarEntry[]) => entries.map((e) => e.path).sort();

describe('diffStates', () => {
  it('is empty when the build changed nothing, whatever the engine wrote again', () => {
    const base = stateOf(BASE);
    const final = stateOf(BASE, rawTar([dir('etc'), file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n')], 1_234));
    assert.deepEqual(diffStates(base, final), []);
  });

  it('holds changed and new paths with their parents as they end up (owner, mode, /tmp stays 1777)', () => {
    const base = stateOf(BASE);
    const final = stateOf(
      BASE,
      rawTar([
        file('tmp/out', 'o', { uid: 1000, gid: 1000 }),
        file('etc/keep', 'k', { mode: 0o600 }),
        dir('srv/app', 0o750),
      ]),
    );
    const entries = readTar(writeTar(diffStates(base, final)));
    assert.deepEqual(
      entries.map((e) => [e.path, e.mode.toString(8), e.uid, e.gid]),
      [
        ['etc/', '755', 0, 0],
        ['etc/keep', '600', 0, 0],
        ['srv/', '755', 0, 0],
        ['srv/app/', '750', 0, 0],
        ['tmp/', '1777', 0, 0],
        ['tmp/out', '644', 1000, 1000],
      ],
    );
  });

  it('whites out only the topmost removed path, and replaces an opaque directory by plain whiteouts', () => {
    const base = stateOf(BASE);
    const removed = stateOf(BASE, rawTar([file('etc/.wh.sub', '')]));
    assert.deepEqual(paths(diffStates(base, removed)), ['etc', 'etc/.wh.sub']);
    const opaque = stateOf(BASE, rawTar([file('etc/.wh..wh..opq', ''), file('etc/new', 'n')]));
    assert.deepEqual(paths(diffStates(base, opaque)), [
      'etc',
      'etc/.wh.keep',
      'etc/.wh.passwd',
      'etc/.wh.sub',
      'etc/new',
    ]);
  });

  it('turns a file into a directory and hard links into copies', () => {
    const base = stateOf(BASE);
    const final = stateOf(
      BASE,
      rawTar([dir('bin'), file('bin/tool', 'x', { mode: 0o755 })]),
      Buffer.concat([
        rawTar([file('bin/alias-src', 'same')]).subarray(0, -1024),
        linkHeader('bin/alias', 'bin/alias-src'),
        Buffer.alloc(1024),
      ]),
    );
    const entries = diffStates(base, final);
    const alias = entries.find((e) => e.path === 'bin/alias');
    assert.equal(alias?.type, 'file');
    assert.equal(alias?.type === 'file' && Buffer.from(alias.content).toString(), 'same');
    assert.equal(entries.find((e) => e.path === 'bin')?.type, 'dir');
  });

  it('gives the same layer bytes for the same result written in another order, at other times, compressed or not', () => {
    const base = stateOf(BASE);
    const one = rawTar([dir('app'), file('app/a', '1'), file('app/b', '2'), file('etc/.wh.keep', '')], 100);
    const two = gzipSync(
      rawTar([file('etc/.wh.keep', ''), file('app/b', '2'), dir('app'), file('app/a', '1')], 999_999),
    );
    const a = writeTar(diffStates(base, stateOf(BASE, toLayerTar(one))), { mtimeSeconds: 5 });
    const b = writeTar(diffStates(base, stateOf(BASE, toLayerTar(two))), { mtimeSeconds: 5 });
    assert.deepEqual(a, b);
  });

  it('refuses devices and extended attributes the canonical layer could not carry', () => {
    const fifo = Buffer.from(rawTar([file('dev-like', '')]));
    fifo[156] = '6'.charCodeAt(0);
    fixChecksum(fifo);
    assert.throws(
      () => applyLayerTo(new Map(), fifo, true),
      (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_TAR' && /device or FIFO/.test(e.message),
    );
    assert.doesNotThrow(() => applyLayerTo(new Map(), fifo, false));
  });

  it('leaves out the mount points the engine made for RUN, not a file the build wrote there', () => {
    const bare = stateOf(rawTar([dir('bin'), file('bin/sh', 'sh')]));
    const engine = rawTar([
      dir('dev'),
      dir('proc'),
      dir('run'),
      dir('sys'),
      dir('etc'),
      file('etc/hostname', '', { mode: 0o755 }),
      file('etc/hosts', '', { mode: 0o755 }),
      file('etc/resolv.conf', 'nameserver 10.0.0.1\n'),
      file('hello', 'hi'),
    ]);
    const final = stateOf(rawTar([dir('bin'), file('bin/sh', 'sh')]), engine);
    dropEngineMountPoints(bare, final);
    assert.deepEqual(paths(diffStates(bare, final)), ['etc', 'etc/resolv.conf', 'hello']);
    // Mount points the base already has are the base's.
    const baseWithRun = stateOf(BASE, rawTar([dir('run')]));
    const withRun = stateOf(BASE, rawTar([dir('run')]));
    dropEngineMountPoints(baseWithRun, withRun);
    assert.ok(withRun.has('run'));
  });
});

/** A hard-link header (typeflag 1) naming `target`. */
function linkHeader(path: string, target: string): Buffer {
  const block = Buffer.from(rawTar([file(path, '')]).subarray(0, 512));
  block[156] = '1'.charCodeAt(0);
  block.write(target, 157, 100, 'utf8');
  fixChecksum(block);
  return block;
}

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i] as number;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
}
