// The teeserver over a real unix socket: default and custom tokens, the documented limits, and error statuses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreError, createMemoryLogger } from '@sealroom/core';
import { TEESERVER_MAX_IN_FLIGHT, TEESERVER_MAX_WAITING, type TeeServer, startTeeServer } from './teeserver.ts';
import type { CustomTokenRequest, TokenSource } from './token-source.ts';

function call(socketPath: string, method: string, path: string, body?: string) {
  return new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { host: 'localhost' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          type: String(res.headers['content-type']),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('teeserver on a unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-tee-'));
  const socketPath = join(dir, 'teeserver.sock');
  const seen: CustomTokenRequest[] = [];
  let defaultCalls = 0;
  let failWith: Error | undefined;
  const source: TokenSource = {
    fetchDefaultToken: async () => {
      defaultCalls += 1;
      if (failWith) throw failWith;
      return `default.token.${defaultCalls}`;
    },
    fetchCustomToken: async (req) => {
      if (failWith) throw failWith;
      seen.push(req);
      return `custom.${req.audience}.${req.nonces.length}`;
    },
  };
  const logger = createMemoryLogger();
  let server: TeeServer;
  before(async () => {
    server = await startTeeServer({ socketPath, tokenSource: source, logger });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const post = (body: unknown) =>
    call(socketPath, 'POST', '/v1/token', typeof body === 'string' ? body : JSON.stringify(body));

  test('the socket has mode 0777 so any container user can reach it', () => {
    assert.equal(statSync(socketPath).mode & 0o777, 0o777);
  });

  test('GET /v1/token mints a fresh default token each time, as text/html', async () => {
    const first = await call(socketPath, 'GET', '/v1/token');
    const second = await call(socketPath, 'GET', '/v1/token');
    assert.equal(first.status, 200);
    assert.equal(first.type, 'text/html');
    assert.notEqual(first.body, second.body);
  });

  test('POST /v1/token passes audience, nonces and token type to the token source', async () => {
    const nonces = ['n'.repeat(8), 'm'.repeat(88)];
    const res = await post({ audience: 'https://aud.example', nonces, token_type: 'PKI' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'custom.https://aud.example.2');
    assert.deepEqual(seen.at(-1), { audience: 'https://aud.example', nonces, tokenType: 'PKI' });
  });

  const rejected: [string, unknown, RegExp][] = [
    ['seven nonces', { audience: 'a', nonces: Array(7).fill('x'.repeat(10)), token_type: 'OIDC' }, /at most 6/],
    ['a 4-byte nonce', { audience: 'a', nonces: ['abcd'], token_type: 'OIDC' }, /nonce 0 is 4 bytes/],
    ['an 89-byte nonce', { audience: 'a', nonces: ['x'.repeat(89)], token_type: 'OIDC' }, /89 bytes/],
    ['an unknown field', { audience: 'a', token_type: 'OIDC', extra: 1 }, /unknown field "extra"/],
    ['a missing token_type', { audience: 'a' }, /token_type is a required parameter/],
    ['an unsupported token_type', { audience: 'a', token_type: 'LIMITED_AWS' }, /OIDC or PKI/],
    ['an empty audience', { audience: '', token_type: 'OIDC' }, /use GET request/],
    ['an audience over 512 bytes', { audience: 'é'.repeat(257), token_type: 'OIDC' }, /512 bytes/],
    ['nonces that are not strings', { audience: 'a', nonces: [12345678], token_type: 'OIDC' }, /array of strings/],
    ['a body that is not JSON', '{"audience":', /not valid JSON/],
    ['a JSON array body', '[]', /JSON object/],
  ];
  for (const [name, body, reason] of rejected) {
    test(`POST with ${name} is answered 400 with the reason`, async () => {
      const before = seen.length;
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.match(res.body, reason);
      assert.equal(seen.length, before, 'the token source was not called');
    });
  }

  test('other methods are 400 and other paths 404', async () => {
    assert.equal((await call(socketPath, 'PUT', '/v1/token')).status, 400);
    assert.equal((await call(socketPath, 'GET', '/v1/evidence')).status, 404);
  });

  test('a client error of the token source is 400 with its message; anything else a generic 500', async () => {
    failWith = new CoreError('ERR_INVALID_ARGUMENT', 'audience not allowed');
    const bad = await post({ audience: 'a', token_type: 'OIDC' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body, 'audience not allowed');
    failWith = new Error('verifier at 10.0.0.1 said secret-ish things');
    const broken = await call(socketPath, 'GET', '/v1/token');
    assert.equal(broken.status, 500);
    assert.doesNotMatch(broken.body, /secret/);
    failWith = undefined;
  });
});

test('a socket path longer than a unix socket allows is refused with advice', async () => {
  await assert.rejects(
    startTeeServer({
      socketPath: `/tmp/${'x'.repeat(120)}/teeserver.sock`,
      tokenSource: { fetchDefaultToken: async () => '', fetchCustomToken: async () => '' },
      logger: createMemoryLogger(),
    }),
    /shorter state directory/,
  );
});

describe('teeserver under a flood of token requests', () => {
  test('holds the verifier to a few requests at once and tells the overflow to slow down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-tee-flood-'));
    const releases: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const source: TokenSource = {
      fetchDefaultToken: () =>
        new Promise((resolve) => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          releases.push(() => {
            inFlight -= 1;
            resolve('default.token');
          });
        }),
      fetchCustomToken: async () => 'custom.token',
    };
    const server = await startTeeServer({
      socketPath: join(dir, 'teeserver.sock'),
      tokenSource: source,
      logger: createMemoryLogger(),
    });
    try {
      const admit = TEESERVER_MAX_IN_FLIGHT + TEESERVER_MAX_WAITING;
      const overflow = 5;
      const statuses: number[] = [];
      const answers = Array.from({ length: admit + overflow }, () =>
        call(server.socketPath, 'GET', '/v1/token').then((answer) => statuses.push(answer.status)),
      );
      // Nothing is released until the overflow has been answered: the admitted requests hold every slot.
      const deadline = Date.now() + 30_000;
      while (statuses.length < overflow && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(statuses, Array(overflow).fill(429));
      let released = 0;
      while (released < admit && Date.now() < deadline) {
        const next = releases.shift();
        if (next) {
          next();
          released += 1;
        } else await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(answers);
      assert.equal(statuses.filter((s) => s === 200).length, admit);
      assert.equal(most, TEESERVER_MAX_IN_FLIGHT);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
