import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { OCI_LAYER_TAR } from '@sealroom/formats';
import type { LayerBlob } from './layer.ts';
import { openRuntimeCache, runtimeCacheDir } from './runtime-cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-runtime-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const layer = (text: string): LayerBlob => ({
  mediaType: OCI_LAYER_TAR,
  bytes: Buffer.from(text),
  digest: `sha256:${'a'.repeat(64)}`,
  diffId: `sha256:${'a'.repeat(64)}`,
});

test('the resolved runtime base is answered from the cache, the same as resolved afresh', () => {
  const cache = openRuntimeCache(dir);
  const first = cache.resolveNodeRuntime();
  const files = () => readdirSync(join(dir, 'runtime')).filter((f) => f.startsWith('base-'));
  assert.equal(files().length, 1);
  assert.deepEqual(openRuntimeCache(dir).resolveNodeRuntime(), first);
  assert.equal(files().length, 1, 'no second resolution was stored');
});

test('another checkout of the same pinned node is answered from the cache, with its own binary path', () => {
  const cache = openRuntimeCache(dir);
  const first = cache.resolveNodeRuntime();
  const installed = dirname(createRequire(join(process.cwd(), 'noop.js')).resolve('node/package.json'));
  const other = join(dir, 'checkout', 'node_modules', 'node');
  mkdirSync(join(other, 'bin'), { recursive: true });
  mkdirSync(join(other, 'node_modules'), { recursive: true });
  copyFileSync(join(installed, 'package.json'), join(other, 'package.json'));
  copyFileSync(
    join(installed, 'node_modules', '.package-lock.json'),
    join(other, 'node_modules', '.package-lock.json'),
  );
  try {
    linkSync(join(installed, 'bin', 'node'), join(other, 'bin', 'node'));
  } catch {
    copyFileSync(join(installed, 'bin', 'node'), join(other, 'bin', 'node'));
  }
  const bases = () => readdirSync(join(dir, 'runtime')).filter((f) => f.startsWith('base-')).length;
  const before = bases();
  const second = cache.resolveNodeRuntime(join(dir, 'checkout'));
  assert.equal(bases(), before, 'answered from the cache, not resolved again');
  assert.equal(second.files[0]?.hostPath, join(other, 'bin', 'node'));
  assert.equal(second.files[0]?.sha256, first.files[0]?.sha256);
  assert.deepEqual(second.files.slice(1), first.files.slice(1));
  assert.deepEqual(second.labels, first.labels);
});

test('layers round-trip by key; a blob cut short is not used; only the newest two are kept', () => {
  const { layers } = openRuntimeCache(dir);
  assert.equal(layers.get('k1'), undefined);
  layers.set('k1', layer('one'));
  assert.deepEqual(layers.get('k1'), layer('one'));
  truncateSync(join(dir, 'runtime', 'layer-k1.blob'), 1);
  assert.equal(layers.get('k1'), undefined, 'a short blob is a miss');
  layers.set('k2', layer('two'));
  layers.set('k3', layer('three'));
  layers.set('k4', layer('four'));
  const blobs = readdirSync(join(dir, 'runtime')).filter((f) => f.endsWith('.blob'));
  assert.equal(blobs.length, 2);
  assert.deepEqual(layers.get('k4'), layer('four'));
});

test('the cache lives under SEALROOM_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(runtimeCacheDir({ SEALROOM_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
  assert.equal(runtimeCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/sealroom');
  assert.equal(runtimeCacheDir({ HOME: '/h' }), '/h/.cache/sealroom');
  assert.equal(runtimeCacheDir({}), undefined);
});
