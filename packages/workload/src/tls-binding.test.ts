// Both ends of one TLS session derive the same binding nonce; another session derives another.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type TLSSocket, connect, createServer, type Server } from 'node:tls';
import { createSealer } from '@sealroom/core';
import { loadOrCreateDeploymentTls } from '@sealroom/transport';
import { tlsBindingNonce } from './tls-binding.ts';

const dir = mkdtempSync(join(tmpdir(), 'workload-tls-'));
let server: Server;
let caPem: string;
const serverNonces: string[] = [];

before(async () => {
  const tls = await loadOrCreateDeploymentTls(dir, createSealer(randomBytes(32)), ['localhost']);
  caPem = tls.caPem;
  server = createServer({ key: tls.keyPem, cert: tls.certPem }, (socket) => {
    serverNonces.push(tlsBindingNonce(socket));
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function clientNonce(): Promise<string> {
  const port = (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem }, () => {
      resolve(tlsBindingNonce(socket));
      socket.end();
    });
    socket.on('error', reject);
  });
}

it('gives client and server the same nonce for one session and a new one for the next', async () => {
  const first = await clientNonce();
  const second = await clientNonce();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(serverNonces, [first, second]);
  assert.notEqual(first, second);
  assert.equal(Buffer.from(first, 'base64').length, 32);
});
