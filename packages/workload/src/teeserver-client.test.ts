// The teeserver client against a socket server that answers like the launcher's (docs/launcher.md, "teeserver").
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchDefaultToken, requestCustomToken } from './teeserver-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'workload-tee-'));
const socketPath = join(dir, 'teeserver.sock');
const seen: { method: string; body: string }[] = [];
let server: Server;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body });
      if (req.method === 'GET') {
        res.end('default.jwt.token');
        return;
      }
      const parsed = JSON.parse(body) as { audience: string; nonces: string[] };
      if (parsed.nonces.some((nonce) => nonce.length < 8)) {
        res.statusCode = 400;
        res.end('nonce 0 is 3 bytes; each nonce must be 8–88 bytes');
        return;
      }
      if (parsed.audience === 'boom') {
        res.statusCode = 500;
        res.end('internal');
        return;
      }
      res.end(`custom.${parsed.audience}.token\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('teeserver client', () => {
  it('posts audience, nonces and token type as the teeserver expects and returns the trimmed JWT', async () => {
    const token = await requestCustomToken({ audience: 'aud1', nonces: ['0123456789'], socketPath });
    assert.equal(token, 'custom.aud1.token');
    assert.deepEqual(JSON.parse(seen.at(-1)?.body ?? ''), {
      audience: 'aud1',
      nonces: ['0123456789'],
      token_type: 'OIDC',
    });
  });

  it('gets a fresh default token with GET', async () => {
    assert.equal(await fetchDefaultToken({ socketPath }), 'default.jwt.token');
    assert.equal(seen.at(-1)?.method, 'GET');
  });

  it('passes on the teeserver reason for a refused request', async () => {
    await assert.rejects(
      requestCustomToken({ audience: 'aud1', nonces: ['abc'], socketPath }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_WORKLOAD_TOKEN_REQUEST_REFUSED');
        assert.match(error.message, /8–88 bytes/);
        return true;
      },
    );
  });

  it('reports server errors and a missing socket as teeserver failures', async () => {
    await assert.rejects(requestCustomToken({ audience: 'boom', socketPath }), { code: 'ERR_WORKLOAD_TEESERVER' });
    await assert.rejects(fetchDefaultToken({ socketPath: join(dir, 'nope.sock') }), {
      code: 'ERR_WORKLOAD_TEESERVER',
    });
  });
});
