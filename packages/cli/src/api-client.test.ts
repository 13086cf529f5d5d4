import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError, createApiClient } from './api-client.ts';
import { openCliConfig } from './config-store.ts';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the CLI’s API client', () => {
  let dir: string;
  let elsewhere: { url: string; server: Server };
  let api: { url: string; server: Server };
  let reachedElsewhere = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealroom-api-client-'));
    elsewhere = await listen((_req, res) => {
      reachedElsewhere++;
      res.end('{}');
    });
    api = await listen((req, res) => {
      if (req.url === '/v1/ok') {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
        return;
      }
      res.writeHead(302, { location: `${elsewhere.url}/internal` });
      res.end();
    });
  });

  after(async () => {
    for (const s of [api.server, elsewhere.server]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to the server it was pointed at, whatever that resolves to', async () => {
    const client = createApiClient(api.url, openCliConfig({ XDG_CONFIG_HOME: dir }, undefined), 'x@example.com');
    assert.deepEqual(await client.request('GET', '/v1/ok', { anonymous: true }), { ok: true });
  });

  it('does not follow the server’s redirect to another local service', async () => {
    const client = createApiClient(api.url, openCliConfig({ XDG_CONFIG_HOME: dir }, undefined), 'x@example.com');
    await assert.rejects(
      client.request('GET', '/v1/redirect', { anonymous: true }),
      (error: unknown) => error instanceof ApiError && /Plain http/.test(error.message),
    );
    assert.equal(reachedElsewhere, 0);
  });
});
