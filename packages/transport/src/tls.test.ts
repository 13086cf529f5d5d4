import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSealer } from '@sealroom/core';
import { loadOrCreateDeploymentTls } from './tls.ts';

test('the deployment CA signs a server certificate that a client trusting only the CA accepts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tls-'));
  try {
    const sealer = createSealer(randomBytes(32));
    const tls = await loadOrCreateDeploymentTls(dir, sealer, ['sealroom.test']);
    const leaf = new X509Certificate(tls.certPem);
    assert.ok(leaf.verify(new X509Certificate(tls.caPem).publicKey));
    assert.match(leaf.subjectAltName ?? '', /DNS:sealroom\.test/);
    for (const file of readdirSync(dir)) {
      assert.equal(readFileSync(join(dir, file)).includes('PRIVATE KEY'), false, `${file} holds a clear private key`);
    }
    const again = await loadOrCreateDeploymentTls(dir, sealer, ['sealroom.test']);
    assert.equal(again.certPem, tls.certPem);
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const body = await new Promise<string>((resolve, reject) => {
      import('node:https').then(({ get }) =>
        get({ host: '127.0.0.1', port, ca: tls.caPem, path: '/' }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        }).on('error', reject),
      );
    });
    assert.equal(body, 'ok');
    server.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a new hostname reissues the server certificate under the same CA, which openssl verifies for TLS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tls-'));
  try {
    const sealer = createSealer(randomBytes(32));
    const first = await loadOrCreateDeploymentTls(dir, sealer, []);
    const second = await loadOrCreateDeploymentTls(dir, sealer, ['sealroom.test', '10.1.2.3']);
    assert.equal(second.caPem, first.caPem);
    assert.notEqual(second.certPem, first.certPem);
    const leaf = new X509Certificate(second.certPem);
    assert.equal(leaf.checkHost('sealroom.test'), 'sealroom.test');
    assert.equal(leaf.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(leaf.checkIP('::1'), '::1');
    const leafPath = join(dir, 'server.pem');
    const verify = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', second.caPath, leafPath], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /server\.pem: OK/);
    const text = spawnSync('openssl', ['x509', '-noout', '-text', '-in', second.caPath], { encoding: 'utf8' });
    assert.match(text.stdout, /CA:TRUE, pathlen:0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
