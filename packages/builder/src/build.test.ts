import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { OCI_LAYER_TAR, openOciLayout } from '@sealroom/formats';
import { buildImage, createLayerCache } from './build.ts';
import { BuilderError } from './errors.ts';
import { type RuntimeBase, toCustomRuntime } from './runtime.ts';
import { listSourceEntries } from './source.ts';
import { readTar, writeTar } from './tar.ts';

const SKOPEO = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].find((p) => existsSync(p));

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-app');
let work: string;
let runtime: RuntimeBase;

/** Copies the fixture file by file, in the given order, under a umask, then stamps every mtime. */
function copyFixture(dest: string, options: { umask: number; mtime: Date; reverse: boolean }): string {
  const previous = process.umask(options.umask);
  try {
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(FIXTURE, rel))) {
        const r = rel ? `${rel}/${name}` : name;
        if (statSync(join(FIXTURE, r)).isDirectory()) walk(r);
        else files.push(r);
      }
    };
    walk('');
    if (options.reverse) files.reverse();
    for (const rel of files) {
      mkdirSync(join(dest, rel, '..'), { recursive: true });
      writeFileSync(join(dest, rel), readFileSync(join(FIXTURE, rel)));
    }
    // A bundled npm dependency, so the SBOM has a component (node_modules is never committed).
    mkdirSync(join(dest, 'node_modules', 'tiny-dep'), { recursive: true });
    writeFileSync(
      join(dest, 'node_modules', 'tiny-dep', 'package.json'),
      '{"name":"tiny-dep","version":"2.1.0","license":"MIT","main":"index.js"}',
    );
    writeFileSync(join(dest, 'node_modules', 'tiny-dep', 'index.js'), 'module.exports = (s) => s.toUpperCase();\n');
    for (const rel of [...files, 'node_modules/tiny-dep/index.js'])
      utimesSync(join(dest, rel), options.mtime, options.mtime);
  } finally {
    process.umask(previous);
  }
  return dest;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'sealroom-build-'));
  const fakeNode = join(work, 'fake-node');
  writeFileSync(fakeNode, '#!/bin/sh\necho fake node\n');
  chmodSync(fakeNode, 0o755);
  runtime = toCustomRuntime([{ imagePath: '/usr/local/bin/node', hostPath: fakeNode, mode: 0o755 }]);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('buildImage', () => {
  it('gives identical digests for two copies in different dirs, with different mtimes, umask and file order', async () => {
    const a = copyFixture(join(work, 'one', 'src'), {
      umask: 0o022,
      mtime: new Date('2020-01-01T00:00:00Z'),
      reverse: false,
    });
    const b = copyFixture(join(work, 'two', 'deeper', 'copy'), {
      umask: 0o077,
      mtime: new Date('2026-11-23T12:34:56Z'),
      reverse: true,
    });
    const [imageA, imageB] = [await buildImage({ dir: a, runtime }), await buildImage({ dir: b, runtime })];
    assert.equal(imageA.digest, imageB.digest);
    assert.equal(imageA.configDigest, imageB.configDigest);
    assert.deepEqual(imageA.manifest, imageB.manifest);
  });

  it('gives a different digest when one source byte changes', async () => {
    const a = copyFixture(join(work, 'base'), { umask: 0o022, mtime: new Date(0), reverse: false });
    const b = copyFixture(join(work, 'changed'), { umask: 0o022, mtime: new Date(0), reverse: false });
    const greet = join(b, 'lib', 'greet.js');
    writeFileSync(greet, readFileSync(greet, 'utf8').replace('hello', 'hellp'));
    const [imageA, imageB] = [await buildImage({ dir: a, runtime }), await buildImage({ dir: b, runtime })];
    assert.notEqual(imageA.digest, imageB.digest);
    assert.equal(imageA.layers[0]?.digest, imageB.layers[0]?.digest, 'the runtime layer is shared');
  });

  it('writes ENTRYPOINT, CMD, ENV, EXPOSE, labels and launch policy labels with a fixed created time', async () => {
    const dir = copyFixture(join(work, 'config'), { umask: 0o022, mtime: new Date(), reverse: false });
    const image = await buildImage({ dir, runtime });
    const c = image.config.config;
    assert.equal(image.config.created, '1970-01-01T00:00:00Z');
    assert.deepEqual(c?.Entrypoint, ['/usr/local/bin/node', '/app/index.mjs']);
    assert.deepEqual(c?.Cmd, ['--verbose']);
    assert.ok(c?.Env?.includes('WHO=sealroom'));
    assert.deepEqual(c?.ExposedPorts, { '8080/tcp': {} });
    assert.equal(c?.Labels?.['tee.launch_policy.allow_env_override'], 'WHO,LOG_LEVEL');
    assert.equal(c?.Labels?.['tee.launch_policy.allow_cmd_override'], 'false');
    assert.equal(c?.Labels?.['tee.launch_policy.log_redirect'], 'debugonly');
    assert.equal(c?.Labels?.['org.sealroom.base'], 'custom');
    assert.match(c?.Labels?.['org.sealroom.build.source-digest'] ?? '', /^sha256:[a-f0-9]{64}$/);
    const configText = image.blobs.config.bytes.toString();
    for (const leak of [dir, work, process.env.USER ?? '\0', 'hostname'])
      assert.ok(!configText.includes(leak), `config leaks ${leak}`);
  });

  it('puts the bundle at /app/index.mjs with normalised tar headers and records the bundled npm packages', async () => {
    const dir = copyFixture(join(work, 'layers'), { umask: 0o077, mtime: new Date(), reverse: false });
    writeFileSync(join(dir, 'index.js'), "import up from 'tiny-dep';\nconsole.log(up('hi'));\n");
    const image = await buildImage({ dir, runtime });
    const appLayer = image.layers[1];
    assert.ok(appLayer);
    const entries = readTar(gunzipSync(appLayer.bytes));
    assert.deepEqual(
      entries.map((e) => [e.path, e.mode.toString(8), e.uid, e.mtime]),
      [
        ['app/', '755', 0, 0],
        ['app/index.mjs', '644', 0, 0],
      ],
    );
    assert.match(entries[1]?.content.toString() ?? '', /toUpperCase/);
    assert.deepEqual(
      image.inputs.components.map((p) => p.purl),
      ['pkg:npm/tiny-dep@2.1.0'],
    );
  });

  it('honours SOURCE_DATE_EPOCH and uncompressed layers, and reuses the cached runtime layer', async () => {
    const dir = copyFixture(join(work, 'epoch'), { umask: 0o022, mtime: new Date(), reverse: false });
    const cache = createLayerCache();
    const plain = await buildImage({
      dir,
      runtime,
      compression: 'none',
      sourceDateEpoch: 1_700_000_000,
      layerCache: cache,
    });
    assert.equal(plain.config.created, '2023-11-14T22:13:20Z');
    assert.ok(plain.layers.every((l) => l.mediaType === OCI_LAYER_TAR && l.digest === l.diffId));
    const again = await buildImage({
      dir,
      runtime,
      compression: 'none',
      sourceDateEpoch: 1_700_000_000,
      layerCache: cache,
    });
    assert.equal(again.layers[0], plain.layers[0], 'same cached object');
    assert.equal(again.digest, plain.digest);
  });

  it('writes an OCI layout whose blobs hash to their names and whose index names the tag', async () => {
    const dir = copyFixture(join(work, 'layout-src'), { umask: 0o022, mtime: new Date(), reverse: false });
    const layoutDir = join(work, 'layout');
    const image = await buildImage({ dir, runtime, layoutDir, tag: 'v1' });
    const layout = await openOciLayout(layoutDir);
    const descriptor = await layout.resolve('v1');
    assert.equal(descriptor.digest, image.digest);
    assert.deepEqual(await layout.readBlob(image.digest), image.manifest);
    for (const layer of image.layers) assert.equal((await layout.readBlob(layer.digest)).length, layer.bytes.length);
  });

  it('reports bundling errors with the esbuild message', async () => {
    const dir = copyFixture(join(work, 'broken'), { umask: 0o022, mtime: new Date(), reverse: false });
    writeFileSync(join(dir, 'index.js'), "import x from './missing.js';\n");
    await assert.rejects(
      buildImage({ dir, runtime }),
      (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_BUNDLE' && /missing/.test(e.message),
    );
  });

  it('builds on a base image pinned by digest from an OCI layout, reusing its layers and naming it in labels', async () => {
    const dir = copyFixture(join(work, 'on-base'), { umask: 0o022, mtime: new Date(), reverse: false });
    const baseLayout = join(work, 'base-layout');
    const baseImage = await buildImage({ dir, runtime, layoutDir: baseLayout, tag: 'base' });
    const onBase = await buildImage({ dir, base: { layoutDir: baseLayout, digest: baseImage.digest } });
    assert.deepEqual(
      onBase.layers.slice(0, 2).map((l) => l.digest),
      baseImage.layers.map((l) => l.digest),
    );
    assert.equal(onBase.layers.length, 3);
    assert.equal(onBase.config.config?.Labels?.['org.sealroom.base.image'], baseImage.digest);
    assert.equal(onBase.config.rootfs.diff_ids.length, 3);
    assert.equal(
      (await buildImage({ dir, base: { layoutDir: baseLayout, digest: baseImage.digest } })).digest,
      onBase.digest,
    );
    await assert.rejects(
      buildImage({ dir, base: { layoutDir: baseLayout, digest: 'base' } }),
      (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_CONFIG',
    );
    const archive = join(work, 'base.oci.tar');
    writeFileSync(archive, writeTar(listSourceEntries(baseLayout)));
    assert.equal(
      (await buildImage({ dir, base: { layoutDir: archive, digest: baseImage.digest } })).digest,
      onBase.digest,
    );
    if (SKOPEO) {
      const skopeoArchive = join(work, 'skopeo.oci.tar');
      execFileSync(
        SKOPEO,
        ['copy', '--preserve-digests', `oci:${baseLayout}:base`, `oci-archive:${skopeoArchive}:base`],
        { stdio: 'ignore' },
      );
      assert.equal(
        (await buildImage({ dir, base: { layoutDir: skopeoArchive, digest: baseImage.digest } })).digest,
        onBase.digest,
      );
    }
    const layerPath = join(baseLayout, 'blobs', 'sha256', (baseImage.layers[1]?.digest ?? '').slice(7));
    writeFileSync(layerPath, 'tampered');
    await assert.rejects(
      buildImage({ dir, base: { layoutDir: baseLayout, digest: baseImage.digest } }),
      /does not match/,
    );
  });
});
