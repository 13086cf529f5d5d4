// `sealroom launcher`'s reading of its instance, against the real metadata server module over real sockets.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@sealroom/core';
import { type MetadataServer, startMetadataServer } from '../metadata-server/server.ts';
import type { InstanceFacts } from '../metadata-server/tree.ts';
import { createMetadataClient, parseMetadataHost, watchAttributes } from './metadata-client.ts';

const facts: InstanceFacts = {
  id: '8123456789012345678',
  name: 'vm1',
  zone: 'us-central1-a',
  projectId: 'operator-project',
  projectNumber: '123456789012',
  universeDomain: 'example.test',
  serviceAccount: {
    email: 'operator-svc-account@operator-project.iam.gserviceaccount.com',
    scopes: ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/logging.write'],
  },
  apiEndpoint: 'https://sealroom.example.test',
};
const ATTRIBUTES = {
  'tee-image-reference': 'registry.example.test/p/r/wordcount@sha256:'.padEnd(115, 'a'),
  'tee-restart-policy': 'Never',
  'tee-env-ALLOWED': 'a,b=c',
};

describe('the metadata client of sealroom launcher', () => {
  let server: MetadataServer;
  let dir: string;
  const audiences: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealroom-mdclient-'));
    server = await startMetadataServer({
      facts,
      attributes: ATTRIBUTES,
      credentials: {
        accessToken: async (scopes) => ({ accessToken: `access-for-${scopes.length}-scopes`, expiresInSeconds: 1800 }),
        identityToken: async ({ audience, format }) => {
          audiences.push(`${audience}:${format}`);
          return 'aGVhZGVy.cGF5bG9hZA.c2ln';
        },
      },
      host: '127.0.0.1',
      launcherSocket: join(dir, 'metadata.sock'),
      logger: silentLogger,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads the instance, its account, its attributes and the deployment endpoint', async () => {
    const client = createMetadataClient(server.hostPort);
    const instance = await client.readInstance();
    assert.equal(instance.id, facts.id);
    assert.equal(instance.name, 'vm1');
    assert.equal(instance.zone, 'us-central1-a');
    assert.equal(instance.projectId, 'operator-project');
    assert.equal(instance.projectNumber, '123456789012');
    assert.equal(instance.universeDomain, 'example.test');
    assert.equal(instance.serviceAccountEmail, facts.serviceAccount.email);
    assert.deepEqual(instance.scopes, facts.serviceAccount.scopes);
    assert.deepEqual(instance.attributes, ATTRIBUTES);
    assert.match(instance.attributesEtag ?? '', /^[0-9a-f]+$/);
    assert.equal(instance.apiEndpoint, 'https://sealroom.example.test');
  });

  test('the unix socket for the host-side launcher answers the same', async () => {
    assert.equal(server.launcherAddress, `unix:${join(dir, 'metadata.sock')}`);
    const client = createMetadataClient(server.launcherAddress as string);
    const instance = await client.readInstance();
    assert.equal(instance.id, facts.id);
    assert.deepEqual(instance.attributes, ATTRIBUTES);
  });

  test('tokens come from service-accounts/default/{token,identity}', async () => {
    const client = createMetadataClient(server.hostPort, { now: () => 1_000_000 });
    const token = await client.accessToken();
    assert.equal(token.accessToken, 'access-for-2-scopes');
    assert.equal(token.expiresAt, 1_000_000 + 1_800_000);
    assert.equal(await client.identityToken('https://verifier.example.test'), 'aGVhZGVy.cGF5bG9hZA.c2ln');
    assert.deepEqual(audiences.at(-1), 'https://verifier.example.test:standard');
  });

  test('wait_for_change wakes on new attributes, and the watcher follows them until aborted', async () => {
    const client = createMetadataClient(server.hostPort);
    const { attributesEtag } = await client.readInstance();
    const controller = new AbortController();
    const seen: Record<string, string>[] = [];
    let notify: () => void = () => {};
    const changed = new Promise<void>((resolve) => {
      notify = resolve;
    });
    const watching = watchAttributes(
      client,
      attributesEtag,
      (attributes) => {
        seen.push({ ...attributes });
        notify();
      },
      controller.signal,
    );
    const deadline = Date.now() + 30_000;
    while (server.pendingWaits() < 1) {
      assert.ok(Date.now() < deadline, 'the watch never parked');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    server.setAttributes({ ...ATTRIBUTES, 'tee-restart-policy': 'Always' });
    await changed;
    controller.abort();
    await watching;
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.['tee-restart-policy'], 'Always');
    server.setAttributes(ATTRIBUTES);
  });

  test('an unknown path is a catalogued error naming the status; addresses parse as Google’s libraries take them', async () => {
    const client = createMetadataClient(server.hostPort);
    await assert.rejects(client.get('instance/nothing-here'), {
      code: 'ERR_LAUNCHER_METADATA_SERVER',
      message: /with 404/,
    });
    assert.deepEqual(parseMetadataHost('metadata.google.internal'), { host: 'metadata.google.internal', port: 80 });
    assert.deepEqual(parseMetadataHost('169.254.169.254:8080'), { host: '169.254.169.254', port: 8080 });
    assert.deepEqual(parseMetadataHost('[fd00::1]:80'), { host: 'fd00::1', port: 80 });
    assert.throws(() => parseMetadataHost('host:99999'), { code: 'ERR_LAUNCHER_METADATA_SERVER' });
    assert.throws(() => parseMetadataHost('unix:relative'), { code: 'ERR_LAUNCHER_METADATA_SERVER' });
  });

  test('an answer without Metadata-Flavor is not a metadata server', async () => {
    const impostor = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = impostor.address() as AddressInfo;
      await assert.rejects(createMetadataClient(`127.0.0.1:${port}`).readInstance(), {
        code: 'ERR_LAUNCHER_METADATA_SERVER',
        message: /without Metadata-Flavor/,
      });
    } finally {
      impostor.closeAllConnections();
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });
});
