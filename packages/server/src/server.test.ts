import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import type { ServiceFactory } from '@sealroom/transport';
import { resolveServerConfig } from './config.ts';
import { startServer } from './server.ts';

const probe: ServiceFactory = async () => ({
  name: 'kms',
  routes: [{ method: 'GET', path: '/v1/probe', auth: 'none', handler: async () => ({ probe: true }) }],
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sealroom-server-'));
}

test('the server serves health, readiness and the selected services, then shuts down cleanly', async () => {
  const dir = tempDir();
  try {
    const logger = createMemoryLogger();
    const config = resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir, dev: true, only: ['kms'] }, {});
    const server = await startServer(config, {
      logger,
      services: [
        { name: 'kms', factory: probe },
        { name: 'pubsub', factory: probe },
      ],
    });
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { services: string[] };
    assert.deepEqual(ready.services, ['iam', 'transparency', 'kms']);
    assert.deepEqual(await (await fetch(`${server.url}/v1/probe`)).json(), { probe: true });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'admin-credential.json')).mode & 0o777, 0o600);
    assert.ok(logger.entries.some((e) => e.level === 'warn' && /DEV MODE/.test(e.message)));
    await server.close();
    await assert.rejects(fetch(`${server.url}/healthz`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the server serves the landing page and the console, and a dev server mints one-time sign-in links', async () => {
  const dir = tempDir();
  try {
    const config = resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir, dev: true, only: [] }, {});
    const server = await startServer(config, { logger: createMemoryLogger(), services: [] });
    try {
      const landing = await fetch(`${server.url}/`);
      assert.equal(landing.status, 200);
      assert.match(await landing.text(), /href="\/console\/"/);
      const index = await fetch(`${server.url}/console/`);
      assert.equal(index.status, 200, 'npm ci builds the console (packages/console prepare)');
      assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const link = await server.signInLink('carol@example.com');
      const code = new URL(link).hash.replace('#sign-in=', '');
      assert.equal(new URL(link).search, '', 'the code never travels in the query');
      const redeemed = await fetch(`${server.url}/v1/console:redeemSignInCode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
      const credential = (await redeemed.json()) as { account: string; refreshToken: string };
      assert.equal(credential.account, 'carol@example.com');
      const token = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(credential.refreshToken)}`,
      });
      assert.equal(token.status, 200);
    } finally {
      await server.close();
    }
    const production = await startServer(resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir }, {}), {
      logger: createMemoryLogger(),
      services: [],
    });
    try {
      await assert.rejects(production.signInLink('carol@example.com'), /--dev/);
    } finally {
      await production.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state survives a restart, and another root key makes the server refuse to start', async () => {
  const dir = tempDir();
  try {
    const logger = createMemoryLogger();
    const config = resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir }, {});
    let server = await startServer(config, { logger, services: [] });
    const login = await server.iam.deps.credentials.issueRefreshToken('admin@sealroom.internal');
    await server.close();
    server = await startServer(config, { logger, services: [] });
    const token = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(login)}`,
    });
    assert.equal(token.status, 200);
    await server.close();
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    await assert.rejects(
      startServer(resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir, rootKeyFile: otherKey }, {}), {
        logger,
        services: [],
      }),
      (e: Error & { code?: string }) => e.code === 'ERR_WRONG_ROOT_KEY',
    );
    assert.equal(readFileSync(join(dir, 'admin-credential.json'), 'utf8').includes('refresh_token'), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configuration errors name the key: unknown keys, bad env values, unknown services', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 9000, colour: 'blue' }));
    assert.throws(() => resolveServerConfig({ stateDir: dir }, {}), /colour/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 9000 }));
    assert.equal(resolveServerConfig({ stateDir: dir }, {}).port, 9000);
    assert.equal(resolveServerConfig({ stateDir: dir }, { SEALROOM_PORT: '9100' }).port, 9100);
    assert.equal(resolveServerConfig({ stateDir: dir, port: 9200 }, { SEALROOM_PORT: '9100' }).port, 9200);
    assert.throws(
      () => resolveServerConfig({ stateDir: dir }, { SEALROOM_PORT: 'eighty' }),
      /SEALROOM_PORT must be an integer/,
    );
    assert.throws(
      () => resolveServerConfig({ stateDir: dir, only: ['kms', 'mystery'] }, {}),
      /Unknown service 'mystery'/,
    );
    assert.throws(() => resolveServerConfig({ stateDir: dir }, {}, join(dir, 'missing.json')), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a public gRPC endpoint is what endpoints.json, /v1/endpoints and the services are told, and TLS covers it', async () => {
  const dir = tempDir();
  try {
    const told: unknown[] = [];
    const listening: ServiceFactory = async () => ({ name: 'kms', routes: [], serving: (e) => told.push(e.grpc) });
    const config = resolveServerConfig(
      { port: 0, grpcPort: -1, stateDir: dir, dev: true, only: ['kms'] },
      { SEALROOM_PUBLIC_GRPC_ENDPOINT: 'grpc.sealroom.test:8443' },
    );
    const server = await startServer(config, {
      logger: createMemoryLogger(),
      services: [{ name: 'kms', factory: listening }],
    });
    try {
      const file = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as { grpc: string };
      assert.equal(file.grpc, 'grpc.sealroom.test:8443');
      const served = (await (await fetch(`${server.url}/v1/endpoints`)).json()) as { grpc: string };
      assert.equal(served.grpc, 'grpc.sealroom.test:8443');
      assert.deepEqual(told, [{ host: 'grpc.sealroom.test', port: 8443 }]);
      const leaf = new X509Certificate(readFileSync(join(dir, 'tls', 'server.pem')));
      assert.match(leaf.subjectAltName ?? '', /DNS:grpc\.sealroom\.test/);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a public gRPC endpoint must be HOST:PORT', () => {
  const stateDir = join(tmpdir(), 'sr-public-grpc-no-state');
  for (const value of ['[::1]:8443', '10.0.0.5:443', 'lb.example.com:65535'])
    assert.equal(resolveServerConfig({ stateDir }, { SEALROOM_PUBLIC_GRPC_ENDPOINT: value }).publicGrpcEndpoint, value);
  for (const value of [
    'lb.example.com',
    'lb.example.com:0',
    'lb.example.com:65536',
    'https://lb:443',
    ':8443',
    '::1:8443',
  ])
    assert.throws(() => resolveServerConfig({ stateDir }, { SEALROOM_PUBLIC_GRPC_ENDPOINT: value }), {
      code: 'ERR_CONFIG',
    });
});
