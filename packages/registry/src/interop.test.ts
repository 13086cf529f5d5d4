// Wire compatibility with real tools: the CNCF distribution registry (Debian `docker-registry`) and skopeo.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  computeDigest,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  openOciLayout,
  pullToLayout,
  pushFromLayout,
  toDigestTag,
} from '@sealroom/formats';
import { RegistryClient } from './client.ts';
import {
  type DistributionRegistry,
  findDistributionBinary,
  type RegistryTestServer,
  startDistributionRegistry,
  startRegistryTestServer,
} from './testing.ts';

const run = promisify(execFile);
const SKOPEO = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].find((p) => existsSync(p));
const work = mkdtempSync(join(tmpdir(), 'sealroom-interop-'));
after(() => rmSync(work, { recursive: true, force: true }));

function sampleImage() {
  const layer = Buffer.alloc(3000, 1);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [computeDigest(layer)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: computeDigest(config), size: config.length },
      layers: [{ mediaType: OCI_LAYER_TAR, digest: computeDigest(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest };
}

describe('against the CNCF distribution registry (docker-registry)', {
  skip: !findDistributionBinary() && 'docker-registry is not installed; apt-get install docker-registry',
}, () => {
  let registry: DistributionRegistry;
  before(async () => {
    registry = await startDistributionRegistry();
  });
  after(() => registry?.stop());

  it('pushes chunked and monolithic blobs and a manifest, resolves the tag and pulls everything back', async () => {
    const client = new RegistryClient({ baseUrl: registry.baseUrl, chunkBytes: 1024 });
    const { layer, config, manifest } = sampleImage();
    await client.pushBlob('demo/app', layer);
    await client.pushBlob('demo/app', config);
    const digest = await client.pushManifest('demo/app', 'v1', manifest, OCI_MANIFEST);
    assert.equal(await client.resolve('demo/app', 'v1'), digest);
    const layout = await openOciLayout(join(work, 'from-distribution'), { create: true });
    const pulled = await pullToLayout(client, 'demo/app', 'v1', layout, 'v1');
    assert.equal(pulled.digest, digest);
    assert.deepEqual(await layout.readBlob(computeDigest(layer)), layer);
  });

  it('keeps the sha256-<hex> referrers fallback index where the registry has no referrers API', async () => {
    const client = new RegistryClient({ baseUrl: registry.baseUrl });
    const subject = await client.resolve('demo/app', 'v1');
    const empty = Buffer.from('{}');
    await client.pushBlob('demo/app', empty);
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sbom',
        config: { mediaType: OCI_EMPTY, digest: computeDigest(empty), size: 2 },
        layers: [{ mediaType: OCI_EMPTY, digest: computeDigest(empty), size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
      }),
    );
    const digest = await client.pushManifest('demo/app', computeDigest(artifact), artifact, OCI_MANIFEST);
    assert.ok((await client.listTags('demo/app')).includes(toDigestTag(subject)));
    assert.deepEqual(
      (await client.listReferrers('demo/app', subject)).map((d) => [d.digest, d.artifactType]),
      [[digest, 'application/vnd.example.sbom']],
    );
  });
});

describe('skopeo against the Sealroom registry', {
  skip: !SKOPEO && 'skopeo is not installed; apt-get install skopeo',
}, () => {
  let server: RegistryTestServer;
  let token: string;
  let digest: string;
  const name = 'skopeo-proj/repo1/app';
  before(async () => {
    server = await startRegistryTestServer();
    token = (await server.iam.createUser('builder@example.com')).accessToken;
    await server.iam.createProject('skopeo-proj', 'builder@example.com');
    const created = await fetch(
      `${server.baseUrl}/v1/projects/skopeo-proj/locations/us-central1/repositories?repositoryId=repo1`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"format":"DOCKER"}',
      },
    );
    assert.equal(created.status, 200);
    const source = await openOciLayout(join(work, 'source'), { create: true });
    const { layer, config, manifest } = sampleImage();
    for (const blob of [layer, config]) await source.putBlob(blob);
    const put = await source.putBlob(manifest);
    await source.addManifest({ mediaType: OCI_MANIFEST, ...put }, 'v1');
    const client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: token });
    digest = await pushFromLayout(client, source, await source.resolve('v1'), name, 'v1');
  });
  after(() => server?.close());

  it('inspects the image through the Docker token-auth dance and sees the same digest', async () => {
    const { stdout } = await run(SKOPEO as string, [
      'inspect',
      '--tls-verify=false',
      '--creds',
      `oauth2accesstoken:${token}`,
      '--raw',
      `docker://${server.host}/${name}:v1`,
    ]);
    assert.equal(computeDigest(Buffer.from(stdout)), digest);
  });

  it('copies the image into an OCI layout with its digest kept', async () => {
    const dest = join(work, 'skopeo-dest');
    await run(SKOPEO as string, [
      'copy',
      '--preserve-digests',
      '--dest-oci-accept-uncompressed-layers',
      '--src-tls-verify=false',
      '--src-creds',
      `oauth2accesstoken:${token}`,
      `docker://${server.host}/${name}:v1`,
      `oci:${dest}:v1`,
    ]);
    const layout = await openOciLayout(dest);
    assert.equal((await layout.resolve('v1')).digest, digest);
  });

  it('is refused without credentials', async () => {
    await assert.rejects(
      run(SKOPEO as string, ['inspect', '--tls-verify=false', '--raw', `docker://${server.host}/${name}:v1`]),
    );
  });
});
