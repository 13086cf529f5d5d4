import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  computeDigest,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  toDigestTag,
} from '@sealroom/formats';
import { RegistryClient } from './client.ts';
import { RegistryError } from './errors.ts';
import { type RegistryTestServer, startRegistryTestServer } from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions.
type Json = any;
let server: RegistryTestServer;
const tokens: Record<string, string> = {};
const IMAGE = 'my-proj/repo1/app';

const client = (who: string, chunkBytes?: number) =>
  new RegistryClient({
    baseUrl: server.baseUrl,
    username: 'oauth2accesstoken',
    password: tokens[who] as string,
    ...(chunkBytes ? { chunkBytes } : {}),
  });
const raw = (
  who: string | undefined,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
) =>
  fetch(`${server.baseUrl}${path}`, {
    method,
    ...(init.body === undefined ? {} : { body: init.body }),
    headers: { ...init.headers, ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}) },
  });

function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...extra,
      config: {
        mediaType: extra.artifactType ? OCI_EMPTY : OCI_CONFIG,
        digest: computeDigest(config),
        size: config.length,
      },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_TAR, digest: computeDigest(l), size: l.length })),
    }),
  );
}

const blobFiles = () => readdirSync(join(server.stateDir, 'registry', 'blobs', 'sha256'));
const uploadFiles = () => readdirSync(join(server.stateDir, 'registry', 'uploads'));

before(async () => {
  server = await startRegistryTestServer();
  for (const who of ['owner@example.com', 'writer@example.com', 'reader@example.com', 'stranger@example.com']) {
    tokens[who.split('@')[0] as string] = (await server.iam.createUser(who)).accessToken;
  }
  await server.iam.createProject('my-proj', 'owner@example.com');
  const created = await raw(
    'owner',
    'POST',
    '/v1/projects/my-proj/locations/us-central1/repositories?repositoryId=repo1',
    {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'DOCKER', description: 'images' }),
    },
  );
  assert.equal(created.status, 200, await created.clone().text());
  await server.iam.grant(
    'projects/my-proj/locations/us-central1/repositories/repo1',
    'roles/artifactregistry.writer',
    'user:writer@example.com',
  );
  await server.iam.grant(
    'projects/my-proj/locations/us-central1/repositories/repo1',
    'roles/artifactregistry.reader',
    'user:reader@example.com',
  );
});
after(() => server.close());

describe('Artifact Registry repositories API', () => {
  it('creates, gets and lists repositories, and refuses a duplicate id', async () => {
    const got = (await (
      await raw('owner', 'GET', '/v1/projects/my-proj/locations/us-central1/repositories/repo1')
    ).json()) as Json;
    assert.equal(got.name, 'projects/my-proj/locations/us-central1/repositories/repo1');
    assert.equal(got.format, 'DOCKER');
    const list = (await (
      await raw('owner', 'GET', '/v1/projects/my-proj/locations/us-central1/repositories')
    ).json()) as Json;
    assert.deepEqual(
      list.repositories.map((r: { name: string }) => r.name),
      [got.name],
    );
    const dup = await raw(
      'owner',
      'POST',
      '/v1/projects/my-proj/locations/us-central1/repositories?repositoryId=repo1',
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    );
    assert.equal(dup.status, 409);
  });

  it('takes mode MODE_UNSPECIFIED as gcloud sends it (a standard repository) and refuses a remote one', async () => {
    const create = (id: string, mode: string) =>
      raw('owner', 'POST', `/v1/projects/my-proj/locations/us-central1/repositories?repositoryId=${id}`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format: 'DOCKER', mode }),
      });
    const made = await create('repo-gcloud', 'MODE_UNSPECIFIED');
    assert.equal(made.status, 200, await made.clone().text());
    assert.equal(((await made.json()) as Json).response.mode, 'STANDARD_REPOSITORY');
    assert.equal((await create('repo-remote', 'REMOTE_REPOSITORY')).status, 400);
  });

  it('only lets callers with artifactregistry.repositories.create make repositories', async () => {
    const denied = await raw(
      'writer',
      'POST',
      '/v1/projects/my-proj/locations/us-central1/repositories?repositoryId=repo2',
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    );
    assert.equal(denied.status, 403);
  });
});

describe('OCI distribution API', () => {
  it('answers /v2/ without a token with 401 and a bearer challenge naming its token endpoint', async () => {
    const response = await raw(undefined, 'GET', '/v2/');
    assert.equal(response.status, 401);
    assert.equal(
      response.headers.get('www-authenticate'),
      `Bearer realm="${server.baseUrl}/v2/token",service="sealroom"`,
    );
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(((await response.json()) as Json).errors[0].code, 'UNAUTHORIZED');
  });

  it('pushes monolithic and chunked blobs and a tagged manifest, then pulls them back byte for byte', async () => {
    const writer = client('writer', 1000);
    const layer = Buffer.alloc(4500, 7);
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await writer.pushBlob(IMAGE, layer);
    await writer.pushBlob(IMAGE, config);
    const manifest = imageManifest(config, [layer]);
    const digest = await writer.pushManifest(IMAGE, 'v1', manifest, OCI_MANIFEST);
    const reader = client('reader');
    assert.equal(await reader.resolve(IMAGE, 'v1'), digest);
    assert.deepEqual((await reader.getManifest(IMAGE, 'v1')).bytes, manifest);
    assert.deepEqual(await reader.getBlob(IMAGE, computeDigest(layer)), layer);
    assert.deepEqual(await reader.listTags(IMAGE), ['v1']);
    const images = (await (
      await raw('reader', 'GET', '/v1/projects/my-proj/locations/us-central1/repositories/repo1/dockerImages')
    ).json()) as Json;
    assert.deepEqual(images.dockerImages[0].tags, ['v1']);
    assert.equal(images.dockerImages[0].uri, `${server.host}/${IMAGE}@${digest}`);
  });

  it('lets a reader pull but not push, and shows strangers the same DENIED for existing and missing repositories', async () => {
    await assert.rejects(
      client('reader').pushBlob(IMAGE, Buffer.from('nope')),
      (e: unknown) => e instanceof RegistryError && /403 DENIED/.test(e.message),
    );
    const existing = await raw('stranger', 'GET', `/v2/${IMAGE}/tags/list`);
    const missing = await raw('stranger', 'GET', '/v2/my-proj/nosuchrepo/app/tags/list');
    assert.equal(existing.status, 403);
    assert.equal(missing.status, 403);
    assert.deepEqual(((await existing.json()) as Json).errors[0].code, ((await missing.json()) as Json).errors[0].code);
    const unknown = await raw('owner', 'GET', '/v2/my-proj/nosuchrepo/app/tags/list');
    assert.equal(((await unknown.json()) as Json).errors[0].code, 'NAME_UNKNOWN');
  });

  it('answers a stranger byte for byte alike on every route for an existing and a missing repository or project', async () => {
    const digest = computeDigest(Buffer.from('x'));
    const routes: [string, string, string?][] = [
      ['GET', '/v2/IMG/tags/list'],
      ['GET', '/v2/IMG/manifests/latest'],
      ['HEAD', '/v2/IMG/manifests/latest'],
      ['PUT', '/v2/IMG/manifests/latest', '{}'],
      ['DELETE', `/v2/IMG/manifests/${digest}`],
      ['GET', `/v2/IMG/blobs/${digest}`],
      ['HEAD', `/v2/IMG/blobs/${digest}`],
      ['DELETE', `/v2/IMG/blobs/${digest}`],
      ['POST', '/v2/IMG/blobs/uploads/'],
      ['POST', `/v2/IMG/blobs/uploads/?digest=${digest}`, 'x'],
      ['POST', `/v2/IMG/blobs/uploads/?mount=${digest}&from=${IMAGE}`],
      ['PATCH', '/v2/IMG/blobs/uploads/6d1f7a52-3b0e-4a8e-9c1e-0d6a5b8f2e11', 'x'],
      ['PUT', `/v2/IMG/blobs/uploads/6d1f7a52-3b0e-4a8e-9c1e-0d6a5b8f2e11?digest=${digest}`, 'x'],
      ['GET', '/v2/IMG/blobs/uploads/6d1f7a52-3b0e-4a8e-9c1e-0d6a5b8f2e11'],
      ['DELETE', '/v2/IMG/blobs/uploads/6d1f7a52-3b0e-4a8e-9c1e-0d6a5b8f2e11'],
      ['GET', `/v2/IMG/referrers/${digest}`],
      ['GET', '/v1/projects/PROJ/locations/us-central1/repositories/REPO'],
      ['GET', '/v1/projects/PROJ/locations/us-central1/repositories/REPO/dockerImages'],
      ['POST', '/v1/projects/PROJ/locations/us-central1/repositories/REPO:getIamPolicy', '{}'],
      ['POST', '/v1/projects/PROJ/locations/us-central1/repositories/REPO:setIamPolicy', '{"policy":{}}'],
      ['GET', '/v1/projects/PROJ/locations/us-central1/repositories'],
      ['POST', '/v1/projects/PROJ/locations/us-central1/repositories?repositoryId=repo2', '{}'],
    ];
    const ask = async (project: string, repository: string, [method, path, body]: (typeof routes)[number]) => {
      const url = path
        .replace('IMG', `${project}/${repository}/app`)
        .replace('PROJ', project)
        .replace('REPO', repository);
      const res = await raw('stranger', method, url, {
        ...(body === undefined ? {} : { body }),
        headers: { 'content-type': body?.startsWith('{') ? 'application/json' : 'application/octet-stream' },
      });
      const headers = ['content-type', 'content-length', 'www-authenticate', 'docker-distribution-api-version']
        .map((h) => `${h}=${res.headers.get(h)}`)
        .join(' ');
      const text = (await res.text()).replaceAll(project, 'P').replaceAll(repository, 'R');
      return `${res.status} ${headers} ${text}`;
    };
    for (const route of routes) {
      const existing = await ask('my-proj', 'repo1', route);
      assert.match(existing, /^403 /, `${route[0]} ${route[1]}`);
      assert.equal(await ask('my-proj', 'repo9', route), existing, `${route[0]} ${route[1]}: missing repository`);
      assert.equal(await ask('no-proj', 'repo1', route), existing, `${route[0]} ${route[1]}: missing project`);
    }
  });

  it('records refused pushes in the project audit log, and paginates tags with a Link header', async () => {
    await client('reader')
      .pushBlob(IMAGE, Buffer.from('denied push'))
      .catch(() => undefined);
    const project = await server.iam.context.projects.resolve('my-proj');
    const entries = await server.iam.deps.audit.list(project?.projectNumber ?? '', {
      pageSize: 100,
      newestFirst: true,
    });
    const denied = entries.map((e) => JSON.stringify(e.body)).find((b) => b.includes('UploadArtifacts'));
    assert.ok(denied?.includes('reader@example.com') && denied.includes('PERMISSION_DENIED'), denied);
    const writer = client('writer');
    const config = Buffer.from('{"page":1}');
    await writer.pushBlob(IMAGE, config);
    for (const tag of ['p1', 'p2', 'p3'])
      await writer.pushManifest(IMAGE, tag, imageManifest(config, []), OCI_MANIFEST);
    const page = await raw('reader', 'GET', `/v2/${IMAGE}/tags/list?n=1&last=p1`);
    assert.deepEqual(((await page.json()) as Json).tags, ['p2']);
    assert.equal(page.headers.get('link'), `</v2/${IMAGE}/tags/list?n=1&last=p2>; rel="next"`);
  });

  it('refuses an upload whose content does not match its digest, and keeps nothing', async () => {
    const before = blobFiles().length;
    const wrong = computeDigest(Buffer.from('something else'));
    const response = await raw('writer', 'POST', `/v2/${IMAGE}/blobs/uploads/?digest=${wrong}`, {
      body: Buffer.from('actual bytes'),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as Json).errors[0].code, 'DIGEST_INVALID');
    assert.equal(blobFiles().length, before);
    assert.deepEqual(uploadFiles(), []);
    assert.equal(await client('writer').hasBlob(IMAGE, wrong), false);
  });

  it('refuses a manifest referencing a blob that was never pushed, and stores neither manifest nor tag', async () => {
    const manifest = imageManifest(Buffer.from('{}'), [Buffer.from('never pushed')]);
    const response = await raw('writer', 'PUT', `/v2/${IMAGE}/manifests/broken`, {
      headers: { 'content-type': OCI_MANIFEST },
      body: manifest,
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as Json).errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await raw('writer', 'GET', `/v2/${IMAGE}/manifests/${computeDigest(manifest)}`)).status, 404);
    assert.ok(!(await client('writer').listTags(IMAGE)).includes('broken'));
  });

  it('refuses a manifest sent with a wrong content type or a digest reference it does not hash to', async () => {
    const config = Buffer.from('{}');
    await client('writer').pushBlob(IMAGE, config);
    const manifest = imageManifest(config, []);
    for (const [type, ref] of [
      ['application/json', 'x'],
      [OCI_INDEX, 'x'],
      [OCI_MANIFEST, computeDigest(Buffer.from('other'))],
    ] as const) {
      const response = await raw('writer', 'PUT', `/v2/${IMAGE}/manifests/${ref}`, {
        headers: { 'content-type': type },
        body: manifest,
      });
      assert.equal(response.status, 400, `${type} ${ref}`);
    }
    assert.equal((await raw('writer', 'GET', `/v2/${IMAGE}/manifests/${computeDigest(manifest)}`)).status, 404);
  });

  it('refuses path traversal in image names and bad digests before touching storage', async () => {
    for (const path of [
      `/v2/my-proj/repo1/%2e%2e/x/blobs/uploads/`,
      `/v2/my-proj/repo1/../../etc/blobs/uploads/`,
      '/v2/my-proj/repo1/app/blobs/sha256:..%2f..%2fetc',
    ]) {
      const response = await server.app.inject({
        method: 'POST',
        url: path,
        headers: { authorization: `Bearer ${tokens.writer}` },
      });
      assert.ok([400, 404].includes(response.statusCode), `${path} → ${response.statusCode}`);
    }
    const badDigest = await server.app.inject({
      method: 'GET',
      url: `/v2/${IMAGE}/blobs/sha256:..`,
      headers: { authorization: `Bearer ${tokens.writer}` },
    });
    assert.equal(JSON.parse(badDigest.body).errors[0].code, 'DIGEST_INVALID');
    assert.deepEqual(uploadFiles(), []);
  });

  it('mounts a blob from another image the caller may pull, and accepts an index only over pushed manifests', async () => {
    const writer = client('writer');
    const blob = Buffer.from('shared layer');
    await writer.pushBlob(IMAGE, blob);
    const digest = computeDigest(blob);
    const mounted = await raw('writer', 'POST', `/v2/my-proj/repo1/other/blobs/uploads/?mount=${digest}&from=${IMAGE}`);
    assert.equal(mounted.status, 201);
    assert.equal(await writer.hasBlob('my-proj/repo1/other', digest), true);
    const notThere = await raw(
      'writer',
      'POST',
      `/v2/my-proj/repo1/other/blobs/uploads/?mount=${computeDigest(Buffer.from('x'))}&from=${IMAGE}`,
    );
    assert.equal(notThere.status, 202, 'falls back to a normal upload');
    const status = await raw('writer', 'GET', notThere.headers.get('location') as string);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0');
    const child = await writer.resolve(IMAGE, 'v1');
    const index = (manifests: string[]) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: manifests.map((d) => ({
            mediaType: OCI_MANIFEST,
            digest: d,
            size: 1,
            platform: { os: 'linux', architecture: 'amd64' },
          })),
        }),
      );
    await writer.pushManifest(IMAGE, 'multi', index([child]), OCI_INDEX);
    const missing = await raw('writer', 'PUT', `/v2/${IMAGE}/manifests/broken-index`, {
      headers: { 'content-type': OCI_INDEX },
      body: index([computeDigest(Buffer.from('nope'))]),
    });
    assert.equal(((await missing.json()) as Json).errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await raw('writer', 'DELETE', `/v2/my-proj/repo1/other/blobs/${digest}`)).status, 403);
    assert.equal((await raw('owner', 'DELETE', `/v2/my-proj/repo1/other/blobs/${digest}`)).status, 202);
    assert.equal(await writer.hasBlob('my-proj/repo1/other', digest), false);
    assert.equal(await writer.hasBlob(IMAGE, digest), true, 'the other image keeps its link');
  });

  it('refuses a chunk that does not continue the upload (416)', async () => {
    const start = await raw('writer', 'POST', `/v2/${IMAGE}/blobs/uploads/`);
    const location = start.headers.get('location') as string;
    const response = await raw('writer', 'PATCH', location, {
      headers: { 'content-range': '10-19' },
      body: Buffer.alloc(10),
    });
    assert.equal(response.status, 416);
    await raw('writer', 'DELETE', location);
  });

  it('lists referrers of a digest (with artifactType filter) and confirms OCI-Subject so no fallback tag is made', async () => {
    const writer = client('writer');
    const subject = await writer.resolve(IMAGE, 'v1');
    const empty = Buffer.from('{}');
    const payload = Buffer.from('{"signed":true}');
    await writer.pushBlob(IMAGE, empty);
    await writer.pushBlob(IMAGE, payload);
    const artifact = imageManifest(empty, [payload], {
      artifactType: 'application/vnd.example.sig',
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
    });
    const digest = await writer.pushManifest(IMAGE, computeDigest(artifact), artifact, OCI_MANIFEST);
    const referrers = await writer.listReferrers(IMAGE, subject);
    assert.deepEqual(
      referrers.map((r) => [r.digest, r.artifactType]),
      [[digest, 'application/vnd.example.sig']],
    );
    assert.deepEqual(await writer.listReferrers(IMAGE, subject, 'other/type'), []);
    assert.ok(!(await writer.listTags(IMAGE)).includes(toDigestTag(subject)));
  });

  it('deletes a manifest by digest with its tags, only for callers allowed to delete', async () => {
    const writer = client('writer');
    const config = Buffer.from('{"x":1}');
    await writer.pushBlob(IMAGE, config);
    const digest = await writer.pushManifest(IMAGE, 'doomed', imageManifest(config, []), OCI_MANIFEST);
    assert.equal((await raw('writer', 'DELETE', `/v2/${IMAGE}/manifests/${digest}`)).status, 403);
    await client('owner').deleteManifest(IMAGE, digest);
    assert.ok(!(await writer.listTags(IMAGE)).includes('doomed'));
    await assert.rejects(
      writer.getManifest(IMAGE, digest),
      (e: unknown) => e instanceof RegistryError && e.code === 'ERR_REGISTRY_NOT_FOUND',
    );
  });
});
