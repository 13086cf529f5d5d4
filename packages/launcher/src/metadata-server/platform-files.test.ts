// The platform's files for one boot: endpoints.json, the CA files, /etc/hosts, and the environment naming them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { caDigest, writePlatformFiles } from './platform-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-platform-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('with endpoints: the CA in the trust store variables, endpoints.json, and the metadata name in /etc/hosts', async () => {
  const files = await writePlatformFiles({
    dir,
    hostname: 'vm1',
    metadata: { host: '127.9.8.7', port: 80 },
    endpoints: {
      rest: 'https://sealroom.example/',
      grpc: { host: 'sealroom.example', port: 8443 },
      universeDomain: 'googleapis.com',
      caPem,
    },
  });
  assert.deepEqual(files.env, [
    'GCE_METADATA_HOST=127.9.8.7',
    'GCE_METADATA_IP=127.9.8.7',
    'GCE_METADATA_ROOT=127.9.8.7',
    'SSL_CERT_FILE=/run/sealroom/ca-bundle.pem',
    'NODE_EXTRA_CA_CERTS=/run/sealroom/ca.pem',
    'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=/run/sealroom/ca-bundle.pem',
  ]);
  assert.equal(files.trustedCaDigest, caDigest(caPem));
  assert.match(files.trustedCaDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  const doc = JSON.parse(readFileSync(join(files.platformDir, 'endpoints.json'), 'utf8'));
  assert.equal(doc.version, 1);
  assert.equal(doc.rest, 'https://sealroom.example');
  assert.deepEqual(doc.services.pubsub, { rest: 'https://sealroom.example', grpc: 'sealroom.example:8443' });
  assert.deepEqual(doc.services.secretmanager, { rest: 'https://sealroom.example' });
  assert.equal(doc.stsUrl, 'https://sealroom.example/v1/token');
  assert.equal(doc.caDigest, files.trustedCaDigest);
  assert.equal(readFileSync(join(files.platformDir, 'ca.pem'), 'utf8'), caPem);
  // The bundle is the CA first, then public roots: replacing the defaults keeps the public Internet trusted.
  const bundle = readFileSync(join(files.platformDir, 'ca-bundle.pem'), 'utf8');
  assert.ok(bundle.startsWith(caPem));
  assert.ok(bundle.split('BEGIN CERTIFICATE').length > 10);
  assert.match(readFileSync(files.hostsFile, 'utf8'), /^127\.9\.8\.7\tmetadata\.google\.internal metadata$/m);
});

test('without endpoints, and on another port: only the metadata server, with its port', async () => {
  const files = await writePlatformFiles({
    dir: join(dir, 'b'),
    hostname: 'vm2',
    metadata: { host: '10.1.2.1', port: 8080 },
  });
  assert.deepEqual(files.env, [
    'GCE_METADATA_HOST=10.1.2.1:8080',
    'GCE_METADATA_IP=10.1.2.1:8080',
    'GCE_METADATA_ROOT=10.1.2.1:8080',
  ]);
  assert.equal(files.trustedCaDigest, undefined);
});
