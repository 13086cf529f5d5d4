import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOutboundClient } from '@sealroom/outbound';
import { createRegistryImageSource, discoverSignatures, registryBaseUrl } from './registry-images.ts';

/** A registry someone else runs: it asks for Basic credentials and records what it is sent. */
interface ForeignRegistry {
  readonly host: string;
  readonly requests: IncomingHttpHeaders[];
  connections: number;
  close(): Promise<void>;
}

async function startForeignRegistry(): Promise<ForeignRegistry> {
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.headers);
    res.writeHead(401, { 'www-authenticate': 'Basic realm="foreign"', 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registry: ForeignRegistry = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => registry.connections++);
  return registry;
}

const OWN = 'http://127.0.0.1:1';
const SA_TOKEN = 'ya29.instance-service-account-token';
let dir: string;
let foreign: ForeignRegistry;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sr-registry-images-'));
  foreign = await startForeignRegistry();
});

after(async () => {
  await foreign.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('images from a registry the operator names', () => {
  it('never sends the instance service account token to a registry other than the deployment’s own', async () => {
    const outbound = createOutboundClient({ policy: { allowLoopback: true } });
    const source = createRegistryImageSource({
      baseUrl: OWN,
      accessToken: async () => SA_TOKEN,
      outbound,
      cacheDir: join(dir, 'cache'),
      shareRootfs: false,
      instanceDir: join(dir, 'instance'),
    });
    await assert.rejects(source.pull(`${foreign.host}/p/repo/image@sha256:${'a'.repeat(64)}`));
    assert.ok(foreign.requests.length > 0, 'the foreign registry was asked');
    const sent = JSON.stringify(foreign.requests);
    assert.ok(!sent.includes(Buffer.from(`oauth2accesstoken:${SA_TOKEN}`).toString('base64')), sent);
    assert.ok(!sent.includes(SA_TOKEN), sent);
  });

  it('does not reach a loopback registry when the deployment’s policy does not allow it', async () => {
    const before = foreign.connections;
    const outbound = createOutboundClient({ policy: {} });
    const found = await discoverSignatures([`${foreign.host}/p/sigs/image`], `sha256:${'b'.repeat(64)}`, {
      baseUrl: OWN,
      accessToken: async () => SA_TOKEN,
      outbound,
    });
    assert.deepEqual(found, []);
    const source = createRegistryImageSource({
      baseUrl: OWN,
      accessToken: async () => SA_TOKEN,
      outbound,
      cacheDir: join(dir, 'cache'),
      shareRootfs: false,
      instanceDir: join(dir, 'instance'),
    });
    await assert.rejects(
      source.pull(`${foreign.host}/p/repo/image:latest`),
      (e: unknown) => (e as { code?: string }).code === 'ERR_OUTBOUND_ADDRESS',
    );
    assert.equal(foreign.connections, before);
  });

  it('uses plain http only for the deployment itself and hosts the policy lets through', () => {
    const strict = createOutboundClient({ policy: { httpHosts: ['registry.corp:5000'] } });
    assert.equal(registryBaseUrl('127.0.0.1:1', OWN, strict), OWN);
    assert.equal(registryBaseUrl('registry.corp:5000', OWN, strict), 'http://registry.corp:5000');
    assert.equal(registryBaseUrl('127.0.0.1:5000', OWN, strict), 'https://127.0.0.1:5000');
    assert.equal(registryBaseUrl('ghcr.io', OWN, strict), 'https://ghcr.io');
    const dev = createOutboundClient({ policy: { allowLoopback: true } });
    assert.equal(registryBaseUrl('127.0.0.1:5000', OWN, dev), 'http://127.0.0.1:5000');
  });
});

describe('a pull the deployment’s registry refuses', () => {
  it('names the instance’s service account, the permission, the repository and the binding that grants it', async () => {
    const message =
      "Permission 'artifactregistry.repositories.downloadArtifacts' denied on resource 'projects/builder-p/locations/us-central1/repositories/repo1' (or it may not exist).";
    const own: Server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message }] }));
    });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(own.address() as AddressInfo).port}`;
    try {
      const source = createRegistryImageSource({
        baseUrl: `http://${host}`,
        accessToken: async () => SA_TOKEN,
        outbound: createOutboundClient({ policy: { allowLoopback: true } }),
        serviceAccountEmail: 'runner@operator-p.iam.gserviceaccount.com',
        cacheDir: join(dir, 'refused-cache'),
        shareRootfs: false,
        instanceDir: join(dir, 'refused-instance'),
      });
      await assert.rejects(source.pull(`${host}/builder-p/repo1/tee:v1`), (error: Error) => {
        assert.match(error.message, /service account runner@operator-p\.iam\.gserviceaccount\.com may not pull/);
        assert.match(
          error.message,
          /lacks 'artifactregistry\.repositories\.downloadArtifacts' on projects\/builder-p\/locations\/us-central1\/repositories\/repo1/,
        );
        assert.match(
          error.message,
          /sealroom artifacts repositories add-iam-policy-binding repo1 --location=us-central1 --project=builder-p --member=serviceAccount:runner@operator-p\.iam\.gserviceaccount\.com --role=roles\/artifactregistry\.reader/,
        );
        assert.ok(!error.message.includes(SA_TOKEN));
        return true;
      });
    } finally {
      own.closeAllConnections();
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  });
});
