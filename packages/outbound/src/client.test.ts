import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createOutboundClient } from './client.ts';
import { OutboundError } from './errors.ts';
import type { Resolver } from './exchange.ts';

interface TestServer {
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly requests: () => number;
  readonly connections: () => number;
  readonly last: () => IncomingMessage | undefined;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  let requests = 0;
  let connections = 0;
  let last: IncomingMessage | undefined;
  const server: Server = createServer((req, res) => {
    requests++;
    last = req;
    handler(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const handle: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => requests,
    connections: () => connections,
    last: () => last,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** A policy under which the loopback test servers count as allow-listed (127.0.0.1 only). */
const LOOPBACK_ALLOWED = { httpHosts: ['127.0.0.1'], allowedRanges: ['127.0.0.1/32'] };

async function refusal(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OutboundError, String(error));
    return error;
  }
  return assert.fail('expected the request to be refused');
}

/** A resolver that answers from a table (test names never reach real DNS). */
function tableResolver(table: Record<string, string[]>): Resolver {
  return async (name) => {
    const addresses = table[name];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('the outbound client', () => {
  it('refuses a loopback target that is not allow-listed, without connecting to it', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const client = createOutboundClient({ policy: { httpHosts: ['127.0.0.1'] } });
    const error = await refusal(client.get(`${target.url}/.well-known/openid-configuration`));
    assert.equal(error.code, 'ERR_OUTBOUND_ADDRESS');
    assert.match(error.message, /loopback/);
    assert.equal(target.connections(), 0);
  });

  it('refuses plain http to a host not on the allow-list, even where the address would pass', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const client = createOutboundClient({ policy: { allowedRanges: ['127.0.0.1/32'] } });
    assert.equal((await refusal(client.get(target.url))).code, 'ERR_OUTBOUND_URL');
    assert.equal(target.connections(), 0);
  });

  it('reaches an allow-listed loopback target, and dev mode reaches any loopback target', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const allowed = await createOutboundClient({ policy: LOOPBACK_ALLOWED }).get(`${target.url}/x`);
    assert.equal(allowed.status, 200);
    assert.deepEqual(JSON.parse(allowed.body.toString()), { ok: true });
    const dev = await createOutboundClient({ policy: { allowLoopback: true } }).get(`${target.url}/x`);
    assert.equal(dev.status, 200);
  });

  it('reaches a trusted origin over http whatever it resolves to, and only that origin', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const other = await serve((_req, res) => json(res, { ok: true }));
    const client = createOutboundClient({ policy: { trustedOrigins: [target.url] } });
    assert.equal((await client.get(`${target.url}/v2/`)).status, 200);
    assert.equal((await refusal(client.get(other.url))).code, 'ERR_OUTBOUND_URL');
  });

  it('refuses a name that resolves to a private, metadata or loopback address, or to a mix with a public one', async () => {
    const client = createOutboundClient({
      resolve: tableResolver({
        'private.example': ['10.0.0.7'],
        'metadata.example': ['169.254.169.254'],
        'mixed.example': ['93.184.216.34', '127.0.0.1'],
        'mapped.example': ['::ffff:127.0.0.1'],
      }),
      policy: { connectTimeoutMs: 2000, timeoutMs: 2000 },
    });
    for (const host of ['private.example', 'metadata.example', 'mixed.example', 'mapped.example']) {
      const error = await refusal(client.get(`https://${host}/.well-known/openid-configuration`));
      assert.equal(error.code, 'ERR_OUTBOUND_ADDRESS', host);
      assert.doesNotMatch(error.message, /10\.0\.0\.7|169\.254|127\.0\.0\.1/);
    }
  });

  it('refuses address literals in every spelling the URL parser accepts for loopback', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const client = createOutboundClient({ policy: { httpHosts: ['127.0.0.1', '[::ffff:7f00:1]', '2130706433'] } });
    for (const url of [target.url, `http://[::ffff:127.0.0.1]:${target.port}/`, `http://2130706433:${target.port}/`]) {
      assert.equal((await refusal(client.get(url))).code, 'ERR_OUTBOUND_ADDRESS', url);
    }
    assert.equal(target.connections(), 0);
  });

  it('refuses a redirect to a private or metadata address, checking the new hop before connecting', async () => {
    let location = '';
    const redirector = await serve((_req, res) => {
      res.writeHead(302, { location });
      res.end();
    });
    const client = createOutboundClient({
      resolve: tableResolver({ 'internal.example': ['127.0.0.2'] }),
      policy: { ...LOOPBACK_ALLOWED, httpHosts: ['127.0.0.1', '10.0.0.1', '169.254.169.254', 'internal.example'] },
    });
    for (const next of [
      'http://10.0.0.1/admin',
      'http://169.254.169.254/computeMetadata/v1/',
      'http://internal.example/',
    ]) {
      location = next;
      assert.equal((await refusal(client.get(`${redirector.url}/start`))).code, 'ERR_OUTBOUND_ADDRESS', next);
    }
    location = 'http://downgrade.example/';
    assert.equal((await refusal(client.get(`${redirector.url}/start`))).code, 'ERR_OUTBOUND_URL');
  });

  it('follows a bounded number of redirects, and none when the caller refuses them', async () => {
    const loop = await serve((req, res) => {
      res.writeHead(302, { location: `${req.url}x` });
      res.end();
    });
    const client = createOutboundClient({ policy: { ...LOOPBACK_ALLOWED, maxRedirects: 2 } });
    assert.equal((await refusal(client.get(`${loop.url}/`))).code, 'ERR_OUTBOUND_REDIRECT');
    assert.equal(loop.requests(), 3);
    assert.equal((await refusal(client.fetch(`${loop.url}/`, { redirect: 'error' }))).code, 'ERR_OUTBOUND_REDIRECT');
    const manual = await client.fetch(`${loop.url}/`, { redirect: 'manual' });
    assert.equal(manual.status, 302);
    await manual.body?.cancel();
  });

  it('drops credentials on a redirect to another origin and keeps them on the same origin', async () => {
    const other = await serve((_req, res) => json(res, { ok: true }));
    const first = await serve((req, res) => {
      res.writeHead(307, { location: req.url === '/same' ? '/done' : `${other.url}/done` });
      res.end();
    });
    const client = createOutboundClient({ policy: LOOPBACK_ALLOWED });
    await (await client.fetch(`${first.url}/cross`, { headers: { authorization: 'Bearer s3cret' } })).arrayBuffer();
    assert.equal(other.last()?.headers.authorization, undefined);
    await (await client.fetch(`${first.url}/same`, { headers: { authorization: 'Bearer s3cret' } })).arrayBuffer();
    assert.equal(first.last()?.headers.authorization, 'Bearer s3cret');
  });

  it('ends a request to a server that never answers with ERR_OUTBOUND_TIMEOUT', async () => {
    const silent = await serve(() => {});
    const client = createOutboundClient({ policy: { ...LOOPBACK_ALLOWED, timeoutMs: 300 } });
    const error = await refusal(client.get(silent.url));
    assert.equal(error.code, 'ERR_OUTBOUND_TIMEOUT');
    assert.equal(error.retryable, true);
    assert.equal(error.httpStatus, 503);
  });

  it('ends a body that trickles past the deadline with ERR_OUTBOUND_TIMEOUT, in get and in fetch', async () => {
    const trickle = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      const tick = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(tick));
    });
    const client = createOutboundClient({ policy: { ...LOOPBACK_ALLOWED, timeoutMs: 400 } });
    assert.equal((await refusal(client.get(trickle.url))).code, 'ERR_OUTBOUND_TIMEOUT');
    const response = await client.fetch(trickle.url);
    assert.equal(response.status, 200);
    assert.equal((await refusal(response.text())).code, 'ERR_OUTBOUND_TIMEOUT');
  });

  it('times out name resolution and connection separately from the whole request', async () => {
    const client = createOutboundClient({
      resolve: () => new Promise(() => {}),
      policy: { connectTimeoutMs: 200, timeoutMs: 60_000 },
    });
    const error = await refusal(client.get('https://hangs.example/'));
    assert.equal(error.code, 'ERR_OUTBOUND_TIMEOUT');
    assert.match(error.message, /connection/);
  });

  it('cuts an endless body at the size limit instead of buffering it', async () => {
    let written = 0;
    let closed: Promise<void> = Promise.resolve();
    const endless = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      closed = new Promise((resolve) => res.on('close', resolve));
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const client = createOutboundClient({ policy: { ...LOOPBACK_ALLOWED, maxBodyBytes: 64 * 1024 } });
    const error = await refusal(client.get(endless.url));
    assert.equal(error.code, 'ERR_OUTBOUND_TOO_LARGE');
    await closed;
    // The server stopped because the client hung up: it wrote a bounded amount (socket buffers), not "everything".
    assert.ok(written < 64 * 1024 * 1024, `server wrote ${written} bytes`);
    const streamed = await client.fetch(endless.url);
    assert.equal((await refusal(streamed.arrayBuffer())).code, 'ERR_OUTBOUND_TOO_LARGE');
  });

  it('refuses a declared body length over the limit before reading it', async () => {
    const big = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('x');
    });
    const client = createOutboundClient({ policy: { ...LOOPBACK_ALLOWED, maxBodyBytes: 1024 } });
    assert.equal((await refusal(client.get(big.url))).code, 'ERR_OUTBOUND_TOO_LARGE');
  });

  it('coalesces concurrent GETs of one URL into one request, and fetches again once it completes', async () => {
    const slow = await serve((_req, res) => {
      setTimeout(() => json(res, { keys: [] }), 100);
    });
    const client = createOutboundClient({ policy: LOOPBACK_ALLOWED });
    const results = await Promise.all(Array.from({ length: 10 }, () => client.get(`${slow.url}/jwks`)));
    assert.equal(slow.requests(), 1);
    assert.ok(results.every((r) => r.body.toString() === '{"keys":[]}'));
    await client.get(`${slow.url}/jwks`);
    assert.equal(slow.requests(), 2);
    await Promise.all([client.get(`${slow.url}/jwks`), client.get(`${slow.url}/other`)]);
    assert.equal(slow.requests(), 4);
  });

  it('maps a refused connection and an unknown name to retryable errors', async () => {
    const gone = await serve(() => {});
    await gone.close();
    const client = createOutboundClient({ policy: LOOPBACK_ALLOWED, resolve: tableResolver({}) });
    const refused = await refusal(client.get(gone.url));
    assert.equal(refused.code, 'ERR_OUTBOUND_CONNECT');
    assert.equal(refused.retryable, true);
    assert.equal((await refusal(client.get('https://nowhere.example/'))).code, 'ERR_OUTBOUND_DNS');
  });

  it('sends methods and bodies like fetch and answers with a Response', async () => {
    const echo = await serve(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'x-seen': 'head' });
        res.end();
        return;
      }
      json(res, { method: req.method, body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] }, 201);
    });
    const client = createOutboundClient({ policy: LOOPBACK_ALLOWED });
    const posted = await client.fetch(new URL(`${echo.url}/p`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(posted.status, 201);
    assert.equal(posted.headers.get('content-type'), 'application/json');
    assert.deepEqual(await posted.json(), { method: 'POST', body: '{"a":1}', type: 'application/json' });
    const head = await client.fetch(`${echo.url}/h`, { method: 'HEAD' });
    assert.equal(head.headers.get('x-seen'), 'head');
    assert.equal(head.body, null);
  });

  it('honours the caller’s abort signal', async () => {
    const silent = await serve(() => {});
    const client = createOutboundClient({ policy: LOOPBACK_ALLOWED });
    const controller = new AbortController();
    const pending = client.fetch(silent.url, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    assert.equal((await refusal(pending)).code, 'ERR_OUTBOUND_ABORTED');
  });

  it('derives a client with more allowed, leaving the original as it was', async () => {
    const target = await serve((_req, res) => json(res, { ok: true }));
    const base = createOutboundClient();
    const derived = base.with({ trustedOrigins: [target.url] });
    assert.equal((await derived.get(target.url)).status, 200);
    assert.equal((await refusal(base.get(target.url))).code, 'ERR_OUTBOUND_URL');
  });
});
