// googleClientOptions: what official clients get from the platform's endpoints.json.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { googleClientOptions, type PlatformEndpointsDocument, readPlatformEndpoints } from './platform-endpoints.ts';

const doc: PlatformEndpointsDocument = {
  version: 1,
  universeDomain: 'googleapis.com',
  rest: 'http://127.0.0.1:8080',
  grpc: '127.0.0.1:8443',
  services: {
    pubsub: { rest: 'http://127.0.0.1:8080', grpc: '127.0.0.1:8443' },
    cloudkms: { rest: 'http://127.0.0.1:8080', grpc: '127.0.0.1:8443' },
    secretmanager: { rest: 'http://127.0.0.1:8080' },
  },
  stsUrl: 'http://127.0.0.1:8080/v1/token',
  verifierUrl: 'http://127.0.0.1:8080',
  caFile: '/run/sealroom/ca.pem',
  caDigest: `sha256:${'a'.repeat(64)}`,
};
const dir = mkdtempSync(join(tmpdir(), 'sealroom-endpoints-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Pub/Sub gets host:port, the universe, and never the emulator mode', () => {
  assert.deepEqual(googleClientOptions('pubsub', { endpoints: doc }), {
    universeDomain: 'googleapis.com',
    apiEndpoint: '127.0.0.1:8443',
    emulatorMode: false,
  });
});

test('generated clients get apiEndpoint and port apart, on gRPC or the REST fallback', () => {
  assert.deepEqual(googleClientOptions('cloudkms', { endpoints: doc }), {
    universeDomain: 'googleapis.com',
    apiEndpoint: '127.0.0.1',
    port: 8443,
  });
  assert.deepEqual(googleClientOptions('cloudkms', { endpoints: doc, transport: 'rest' }), {
    universeDomain: 'googleapis.com',
    fallback: true,
    protocol: 'http',
    apiEndpoint: '127.0.0.1',
    port: 8080,
  });
  assert.equal(googleClientOptions('secretmanager', { endpoints: doc }).fallback, true);
});

test('an unknown service, a REST-only service asked for gRPC, or a bad file is a configuration error', () => {
  assert.throws(() => googleClientOptions('bigquery', { endpoints: doc }), { code: 'ERR_WORKLOAD_BAD_CONFIG' });
  assert.throws(() => googleClientOptions('secretmanager', { endpoints: doc, transport: 'grpc' }), {
    code: 'ERR_WORKLOAD_BAD_CONFIG',
  });
  writeFileSync(join(dir, 'endpoints.json'), '{"version":2}');
  assert.throws(() => readPlatformEndpoints(join(dir, 'endpoints.json')), { code: 'ERR_WORKLOAD_BAD_CONFIG' });
  // The plain-process runtime names the directory on the host.
  writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(doc));
  assert.equal(readPlatformEndpoints(undefined, { SEALROOM_PLATFORM_DIR: dir }).rest, doc.rest);
});
