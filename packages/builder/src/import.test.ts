import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openOciLayout, pushFromLayout } from '@sealroom/formats';
import { RegistryClient } from '@sealroom/registry';
import {
  findDistributionBinary,
  type RegistryTestServer,
  startDistributionRegistry,
  startRegistryTestServer,
} from '@sealroom/registry/testing';
import { writeImageToLayout } from './build.ts';
import { buildDebianBaseImage } from './debian-base.ts';
import { BuilderError } from './errors.ts';
import { importImage, parseImportSource } from './import.ts';

describe('parseImportSource', () => {
  it('reads each transport, with an optional image name after the last colon', () => {
    const table: [string, unknown][] = [
      ['oci:/layouts/base', { kind: 'oci', path: '/layouts/base' }],
      ['oci:/layouts/base:v1', { kind: 'oci', path: '/layouts/base', ref: 'v1' }],
      ['oci-archive:base.tar', { kind: 'oci-archive', path: 'base.tar' }],
      ['docker-archive:saved.tar:busybox:1.36', { kind: 'docker-archive', path: 'saved.tar:busybox', ref: '1.36' }],
      [
        'docker://registry.example/library/busybox:1.36',
        { kind: 'docker', reference: 'registry.example/library/busybox:1.36' },
      ],
      ['dpkg:busybox-static, libc6:amd64', { kind: 'dpkg', packages: ['busybox-static', 'libc6:amd64'] }],
    ];
    for (const [text, want] of table) assert.deepEqual(parseImportSource(text), want, text);
    for (const bad of ['busybox', 'docker:busybox', 'dpkg:', 'dpkg:Bad_Name', 'ftp://x', 'oci:']) {
      assert.throws(
        () => parseImportSource(bad),
        (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_IMPORT',
        bad,
      );
    }
  });
});

const skip = spawnSync('dpkg-query', ['-W', 'busybox-static']).status === 0 ? false : 'busybox-static is not installed';
const noSkopeo = spawnSync('skopeo', ['--version']).status === 0 ? false : 'skopeo is not installed';

describe('importImage', { skip }, () => {
  let server: RegistryTestServer;
  let client: RegistryClient;
  let work: string;
  const image = skip ? undefined : buildDebianBaseImage({ packages: ['busybox-static'] });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'sr-import-'));
    server = await startRegistryTestServer();
    const { accessToken } = await server.iam.createUser('importer@example.com');
    await server.iam.createProject('import-project', 'importer@example.com');
    await fetch(`${server.baseUrl}/v1/projects/import-project/locations/us-central1/repositories?repositoryId=bases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: accessToken });
    await writeImageToLayout(image as NonNullable<typeof image>, join(work, 'layout'), 'v1');
  });

  after(async () => {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the digest of an image from an OCI layout or an oci-archive of it', async () => {
    const fromLayout = await importImage({
      source: parseImportSource(`oci:${join(work, 'layout')}:v1`),
      client,
      repository: 'import-project/bases/busybox',
      tag: 'layout',
    });
    assert.equal(fromLayout.digest, image?.digest);
    execFileSync('tar', ['-C', join(work, 'layout'), '-cf', join(work, 'base.tar'), '.']);
    const fromArchive = await importImage({
      source: parseImportSource(`oci-archive:${join(work, 'base.tar')}`),
      client,
      repository: 'import-project/bases/busybox',
      tag: 'archive',
    });
    assert.equal(fromArchive.digest, image?.digest);
    assert.equal(await client.resolve('import-project/bases/busybox', 'archive'), image?.digest);
  });

  it('assembles a dpkg: image and pushes it under the tag', async () => {
    const imported = await importImage({
      source: parseImportSource('dpkg:busybox-static'),
      client,
      repository: 'import-project/bases/busybox',
      tag: '1.35',
    });
    assert.equal(imported.digest, image?.digest);
    assert.match(imported.packages?.[0] ?? '', /^busybox-static=/);
  });

  it('converts a docker-archive and an image from another registry with skopeo', { skip: noSkopeo }, async () => {
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      `oci:${join(work, 'layout')}:v1`,
      `docker-archive:${join(work, 'saved.tar')}:busybox:v1`,
    ]);
    const fromDockerArchive = await importImage({
      source: parseImportSource(`docker-archive:${join(work, 'saved.tar')}`),
      client,
      repository: 'import-project/bases/saved',
    });
    const saved = await client.getManifest('import-project/bases/saved', 'latest');
    assert.equal(saved.digest, fromDockerArchive.digest);
    const manifest = JSON.parse(saved.bytes.toString());
    // The same single layer, still plain tar: no compressor's bytes were added on the way.
    assert.deepEqual(
      manifest.layers.map((l: { digest: string; mediaType: string }) => [l.digest, l.mediaType]),
      image?.layers.map((l) => [l.digest, l.mediaType]),
    );

    if (!findDistributionBinary()) return;
    const other = await startDistributionRegistry();
    try {
      const layout = await openOciLayout(join(work, 'layout'));
      await pushFromLayout(
        new RegistryClient({ baseUrl: other.baseUrl }),
        layout,
        await layout.resolve('v1'),
        'library/busybox',
        '1.35',
      );
      const fromRegistry = await importImage({
        source: parseImportSource(`docker://${other.host}/library/busybox:1.35`),
        client,
        repository: 'import-project/bases/mirrored',
        tag: '1.35',
        sourceInsecure: true,
      });
      assert.equal(fromRegistry.digest, image?.digest);
    } finally {
      await other.stop();
    }
  });

  it('refuses a missing layout, archive or package, and pushes nothing', async () => {
    for (const source of ['oci:/nonexistent/layout', 'oci-archive:/nonexistent.tar', 'dpkg:not-a-package-here']) {
      await assert.rejects(
        importImage({ source: parseImportSource(source), client, repository: 'import-project/bases/none' }),
        (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_IMPORT',
        source,
      );
    }
    assert.deepEqual(await client.listTags('import-project/bases/none').catch(() => []), []);
  });
});
