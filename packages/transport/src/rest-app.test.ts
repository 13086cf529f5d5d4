import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { test } from 'node:test';
import { type Authenticator, type Caller, CoreError, createMemoryLogger } from '@sealroom/core';
import { type ApiRoute, reply } from './api.ts';
import { compileTemplate } from './path-template.ts';
import { buildRestApp } from './rest-app.ts';

const alice: Caller = { kind: 'user', principal: 'user:alice@example.com', credentialId: 'c1', expiresAt: 0 };
const authenticator: Authenticator = {
  authenticate: async (token) => {
    if (token === 'good') return alice;
    throw new CoreError('ERR_UNAUTHENTICATED', 'Invalid credentials.');
  },
};

const routes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/v1/{name=projects/*/locations/*/keyRings/*}',
    handler: async (req) => ({ name: req.params.name, who: req.caller?.principal }),
  },
  {
    method: 'POST',
    path: '/v1/{resource=projects/*/locations/*/keyRings/*}:getIamPolicy',
    handler: async (req) => ({ resource: req.params.resource, body: req.body ?? null }),
  },
  {
    method: 'POST',
    path: '/v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt',
    bodyLimit: 64,
    handler: async (req) => reply({ name: req.params.name }, 201, { 'x-test': 'yes' }),
  },
  {
    method: 'POST',
    path: '/v1/token',
    auth: 'none',
    body: 'form-or-json',
    mapError: (error) => ({ status: 400, body: { error: 'invalid_request', error_description: String(error) } }),
    handler: async (req) => {
      if (!req.body) throw new Error('empty');
      return { got: req.body };
    },
  },
];

test('templates capture multi-segment names and custom verbs', () => {
  const t = compileTemplate('/v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt');
  assert.deepEqual(t.match('/v1/projects/p/locations/l/keyRings/k/cryptoKeys/c/cryptoKeyVersions/1:encrypt'), {
    name: 'projects/p/locations/l/keyRings/k/cryptoKeys/c/cryptoKeyVersions/1',
  });
  assert.equal(t.match('/v1/projects/p/locations/l/keyRings/k:encrypt'), undefined);
  assert.deepEqual(compileTemplate('/v2/{name=**}/blobs/{digest}').match('/v2/p/r/img/blobs/sha256:ab'), {
    name: 'p/r/img',
    digest: 'sha256:ab',
  });
});

test('the segment pre-check never changes what a template matches', () => {
  const templates = [
    '/v1/{name=projects/*/locations/*/keyRings/*}',
    '/v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/*}',
    '/v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt',
    '/v1/{resource=**}:getIamPolicy',
    '/v1/{parent=projects/*}/topics',
    '/v1/projects/{project}:testIamPermissions',
    '/v2/{name=**}/blobs/{digest}',
    '/v1/{name=projects/*/secrets/*/versions/*}:access',
    '/v1/{name=projects/*/x*y/*}',
    '/v1/token',
    '/',
  ].map((template) => compileTemplate(template));
  const parts = ['', 'v1', 'v2', 'projects', 'p', 'locations', 'global', 'keyRings', 'k', 'cryptoKeys', 'c'];
  const tails = ['', ':encrypt', ':getIamPolicy', ':testIamPermissions', ':access', '/blobs/sha256:ab', '/topics'];
  const paths = new Set<string>(['/', '/v1/token', '/v1/projects/p/xay/q', '/v1/projects/p/xy/q', 'v1/token']);
  // 20,000 paths of one to ten segments from `parts`, each with a tail, from a fixed linear congruential sequence.
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 20_000; i++) {
    let path = '';
    for (let depth = 1 + next(10); depth > 0; depth--) path += `/${parts[next(parts.length)]}`;
    paths.add(`${path}${tails[next(tails.length)]}`);
  }
  for (const name of [
    'projects/p/locations/global/keyRings/k',
    'projects/p/locations/global/keyRings/k/cryptoKeys/c',
  ]) {
    for (const tail of ['', ':encrypt', ':getIamPolicy', '/cryptoKeyVersions/1:encrypt'])
      paths.add(`/v1/${name}${tail}`);
  }
  let matched = 0;
  for (const path of paths) {
    const segments = path.split('/');
    for (const template of templates) {
      const plain = template.match(path);
      assert.deepEqual(template.match(path, segments), plain, `${template.template} on ${path}`);
      if (plain) matched++;
    }
  }
  assert.ok(paths.size > 1000 && matched > 20, `${paths.size} paths, ${matched} matches`);
});

test('routes dispatch by template, verbs win over plain names, and bearer tokens authenticate', async () => {
  const app = await buildRestApp({ routes, authenticator, logger: createMemoryLogger() });
  const get = await app.inject({
    method: 'GET',
    url: '/v1/projects/p/locations/global/keyRings/kr?x=1',
    headers: { authorization: 'Bearer good' },
  });
  assert.equal(get.statusCode, 200);
  assert.deepEqual(get.json(), { name: 'projects/p/locations/global/keyRings/kr', who: 'user:alice@example.com' });
  const iam = await app.inject({
    method: 'POST',
    url: '/v1/projects/p/locations/global/keyRings/kr:getIamPolicy',
    headers: { authorization: 'Bearer good', 'content-type': 'application/json' },
    payload: '""',
  });
  assert.deepEqual(iam.json(), { resource: 'projects/p/locations/global/keyRings/kr', body: '' });
  const enc = await app.inject({
    method: 'POST',
    url: '/v1/projects/p/locations/global/keyRings/kr/cryptoKeys/k:encrypt',
    headers: { authorization: 'Bearer good' },
    payload: '{}',
  });
  assert.equal(enc.statusCode, 201);
  assert.equal(enc.headers['x-test'], 'yes');
  await app.close();
});

test('missing, malformed and invalid credentials get 401 with a Google error body', async () => {
  const app = await buildRestApp({ routes, authenticator, logger: createMemoryLogger() });
  for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer forged' }]) {
    const res = await app.inject({ method: 'GET', url: '/v1/projects/p/locations/global/keyRings/kr', headers });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.status, 'UNAUTHENTICATED');
    assert.equal(res.json().error.code, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
  }
  await app.close();
});

test('bad bodies, oversized bodies and unknown paths are refused precisely', async () => {
  const app = await buildRestApp({ routes, authenticator, logger: createMemoryLogger() });
  const auth = { authorization: 'Bearer good' };
  const badJson = await app.inject({
    method: 'POST',
    url: '/v1/projects/p/locations/global/keyRings/kr:getIamPolicy',
    headers: auth,
    payload: '{nope',
  });
  assert.equal(badJson.statusCode, 400);
  assert.equal(badJson.json().error.details[0].reason, 'ERR_BAD_REQUEST_BODY');
  const big = await app.inject({
    method: 'POST',
    url: '/v1/projects/p/locations/global/keyRings/kr/cryptoKeys/k:encrypt',
    headers: auth,
    payload: 'x'.repeat(65),
  });
  assert.equal(big.statusCode, 413);
  const missing = await app.inject({ method: 'GET', url: '/v1/nothing', headers: auth });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.status, 'NOT_FOUND');
  const slash = await app.inject({ method: 'GET', url: '/v1/projects/p%2Fx/locations/g/keyRings/k', headers: auth });
  assert.equal(slash.statusCode, 400);
  await app.close();
});

test('form bodies parse, and a route error mapper shapes its own failures', async () => {
  const app = await buildRestApp({ routes, authenticator, logger: createMemoryLogger() });
  const form = await app.inject({
    method: 'POST',
    url: '/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    payload: 'grant_type=x&subject_token=abc%0A',
  });
  assert.deepEqual(form.json(), { got: { grant_type: 'x', subject_token: 'abc\n' } });
  const empty = await app.inject({ method: 'POST', url: '/v1/token' });
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json().error, 'invalid_request');
  const repeated = await app.inject({
    method: 'POST',
    url: '/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'a=1&a=2',
  });
  assert.equal(repeated.statusCode, 400);
  await app.close();
});

test('unexpected errors become a generic 500 that reveals nothing', async () => {
  const logger = createMemoryLogger();
  const app = await buildRestApp({
    routes: [
      {
        method: 'GET',
        path: '/boom',
        auth: 'none',
        handler: async () => {
          throw new Error('secret internals');
        },
      },
    ],
    authenticator,
    logger,
  });
  const res = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.body.includes('secret internals'), false);
  assert.equal(res.json().error.status, 'INTERNAL');
  await app.close();
});

test('a refused request is logged with its catalogued error code, not its message', async () => {
  const logger = createMemoryLogger();
  const app = await buildRestApp({ routes, authenticator, logger });
  const denied = await app.inject({
    method: 'GET',
    url: '/v1/projects/p/locations/global/keyRings/kr',
    headers: { authorization: 'Bearer bad' },
  });
  assert.equal(denied.statusCode, 401);
  const fine = await app.inject({
    method: 'GET',
    url: '/v1/projects/p/locations/global/keyRings/kr',
    headers: { authorization: 'Bearer good' },
  });
  assert.equal(fine.statusCode, 200);
  const lines = logger.entries.filter((e) => e.message === 'request');
  assert.equal(lines.length, 2);
  assert.equal(lines[0]?.fields.status, 401);
  assert.equal(lines[0]?.fields.code, 'ERR_UNAUTHENTICATED');
  assert.equal(JSON.stringify(lines[0]).includes('Invalid credentials'), false);
  assert.equal(lines[1]?.fields.code, undefined);
  await app.close();
});

test('bodies over a real socket: whole, in pieces, chunked past the limit, and none', async () => {
  const app = await buildRestApp({ routes, authenticator, logger: createMemoryLogger() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  // One raw HTTP/1.1 exchange; `parts` are written 30 ms apart, so the handler runs before the body is complete.
  const exchange = (parts: readonly string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => {
        answer += text;
      });
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
      socket.on('connect', async () => {
        for (const [i, part] of parts.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, 30));
          socket.write(part);
        }
      });
    });
  const head = (extra: string) =>
    `POST /v1/token HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n${extra}\r\n`;
  const whole = await exchange([`${head('content-length: 11\r\n')}{"a":"one"}`]);
  assert.match(whole, /^HTTP\/1\.1 200[\s\S]*\{"got":\{"a":"one"\}\}$/);
  const pieces = await exchange([`${head('content-length: 11\r\n')}{"a":`, '"two"}']);
  assert.match(pieces, /^HTTP\/1\.1 200[\s\S]*\{"got":\{"a":"two"\}\}$/);
  const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n`;
  const streamed = await exchange([
    `${head('transfer-encoding: chunked\r\n')}${chunked('{"a":')}`,
    `${chunked('"3"}')}0\r\n\r\n`,
  ]);
  assert.match(streamed, /^HTTP\/1\.1 200[\s\S]*\{"got":\{"a":"3"\}\}$/);
  const encrypt = (extra: string) =>
    `POST /v1/projects/p/locations/global/keyRings/kr/cryptoKeys/k:encrypt HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer good\r\n${extra}\r\n`;
  const tooBig = await exchange([`${encrypt('transfer-encoding: chunked\r\n')}${chunked('x'.repeat(65))}0\r\n\r\n`]);
  assert.match(tooBig, /^HTTP\/1\.1 413 /);
  const tooBigLater = await exchange([
    `${encrypt('transfer-encoding: chunked\r\n')}${chunked('x'.repeat(40))}`,
    `${chunked('x'.repeat(40))}0\r\n\r\n`,
  ]);
  assert.match(tooBigLater, /^HTTP\/1\.1 413 /);
  const none = await exchange([
    'GET /v1/projects/p/locations/global/keyRings/kr HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer good\r\n\r\n',
  ]);
  assert.match(none, /^HTTP\/1\.1 200[\s\S]*"who":"user:alice@example.com"/);
  await app.close();
});

test("a handler's signal aborts when its client leaves, before or after the handler asks for it", async () => {
  const seen: string[] = [];
  const waitRoute = (path: string, askAfterMs: number): ApiRoute => ({
    method: 'GET',
    path,
    auth: 'none',
    handler: async (req) => {
      await new Promise((r) => setTimeout(r, askAfterMs));
      const signal = req.signal;
      const outcome = await new Promise<string>((resolve) => {
        if (signal.aborted) return resolve('aborted');
        const timer = setTimeout(() => resolve('timed out'), 5_000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve('aborted');
        });
      });
      seen.push(`${path} ${outcome}`);
      return { outcome };
    },
  });
  const app = await buildRestApp({
    routes: [waitRoute('/v1/early', 0), waitRoute('/v1/late', 300)],
    authenticator,
    logger: createMemoryLogger(),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  for (const path of ['/v1/early', '/v1/late']) {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
  }
  const deadline = Date.now() + 4_000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen.sort(), ['/v1/early aborted', '/v1/late aborted']);
  await app.close();
});

test('a client that leaves mid-body is logged as a 400 bad body, not a server error', async () => {
  const logger = createMemoryLogger();
  const app = await buildRestApp({ routes, authenticator, logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.on('connect', resolve));
  socket.write(
    'POST /v1/projects/p/locations/global/keyRings/kr/cryptoKeys/k:encrypt HTTP/1.1\r\nhost: x\r\nauthorization: Bearer good\r\ncontent-length: 50\r\n\r\n{"a":',
  );
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  const deadline = Date.now() + 5_000;
  const line = () => logger.entries.find((e) => e.message === 'request');
  while (line() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(line()?.fields.status, 400);
  assert.equal(line()?.fields.code, 'ERR_BAD_REQUEST_BODY');
  assert.equal(
    logger.entries.some((e) => e.message === 'request failed'),
    false,
    'no server error is logged',
  );
  await app.close();
});
