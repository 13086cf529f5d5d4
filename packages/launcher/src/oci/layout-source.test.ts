// Pulling from an OCI image layout: by digest and by tag, digest checks, and index (multi-arch) resolution.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createOciLayoutImageSource } from './layout-source.ts';
import { writeTar } from './tar-writer.test-util.ts';

const base = mkdtempSync(join(tmpdir(), 'sr-layout-'));
after(() => rmSync(base, { recursive: true, force: true }));

function makeLayout(name: string, withIndex: boolean) {
  const dir = join(base, name);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (bytes: Buffer) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = put(
    gzipSync(
      writeTar([{ path: 'app/hello.txt', type: 'file', mode: 0o644, uid: 0, data: Buffer.from('hi'), linkTarget: '' }]),
    ),
  );
  const config = put(
    Buffer.from(
      JSON.stringify({
        config: { Entrypoint: ['/app/run'], Labels: { 'tee.launch_policy.allow_cmd_override': 'true' } },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  let top = manifest;
  if (withIndex) {
    top = put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              ...manifest,
              platform: { os: 'linux', architecture: 'amd64' },
            },
          ],
        }),
      ),
    );
  }
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
  return { dir, top, config, layer };
}

test('pulls by digest: the config labels, the pinned digest and the unpacked rootfs', async () => {
  const { dir, top, config } = makeLayout('plain', false);
  const source = createOciLayoutImageSource({ layoutDir: dir, unpackDir: join(base, 'unpack1') });
  const image = await source.pull(`localhost:1/p/r/img@${top.digest}`);
  assert.equal(image.digest, top.digest);
  assert.equal(image.configDigest, config.digest);
  assert.equal(image.config.Labels?.['tee.launch_policy.allow_cmd_override'], 'true');
  assert.equal(readFileSync(join(image.rootfs, 'app', 'hello.txt'), 'utf8'), 'hi');
});

test('pulls by tag through an image index; ImageDigest is the index digest', async () => {
  const { dir, top } = makeLayout('indexed', true);
  const image = await createOciLayoutImageSource({ layoutDir: dir, unpackDir: join(base, 'unpack2') }).pull(
    'localhost:1/p/r/img:v1',
  );
  assert.equal(image.digest, top.digest);
  assert.deepEqual(image.config.Entrypoint, ['/app/run']);
});

test('a blob that does not match its digest is refused', async () => {
  const { dir, top, layer } = makeLayout('tampered', false);
  writeFileSync(join(dir, 'blobs', 'sha256', layer.digest.slice(7)), gzipSync(Buffer.alloc(1024)));
  const source = createOciLayoutImageSource({ layoutDir: dir, unpackDir: join(base, 'unpack3') });
  await assert.rejects(source.pull(`x@${top.digest}`), /does not match its digest/);
  await assert.rejects(source.pull('x:nope'), /no manifest tagged nope/);
});
