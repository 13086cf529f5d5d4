// The metadata server over real sockets: the flavor header, listings, recursion, tokens, wait_for_change, peers.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@sealroom/core';
import { type MetadataServer, startMetadataServer } from './server.ts';
import { TEST_FACTS } from './test-facts.ts';

const facts = TEST_FACTS;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function get(
  server: MetadataServer,
  path: string,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.host,
        port: server.port,
        path,
        headers: options.headers ?? { 'Metadata-Flavor': 'Google' },
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `count` wait_for_change requests are parked on the server (polled, with a deadline). */
async function parked(server: MetadataServer, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (server.pendingWaits() < count) {
    if (Date.now() > deadline) throw new Error('the wait_for_change request never parked');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('metadata server', () => {
  let server: MetadataServer;
  const minted: { scopes: string[][]; identities: unknown[] } = { scopes: [], identities: [] };
  before(async () => {
    server = await startMetadataServer({
      facts,
      attributes: { 'tee-image-reference': 'registry.example/p/r/tee@sha256:abc', 'tee-restart-policy': 'Never' },
      credentials: {
        accessToken: async (scopes) => {
          minted.scopes.push([...scopes]);
          return { accessToken: `access-${scopes.length}`, expiresInSeconds: 3599 };
        },
        identityToken: async (requested) => {
          minted.identities.push(requested);
          return `id-token-for-${requested.audience}`;
        },
      },
      host: '127.0.0.1',
      logger: silentLogger,
    });
  });
  after(() => server.close());

  test('a request without Metadata-Flavor: Google is refused with 403, and the answer still names the flavor', async () => {
    const answer = await get(server, '/computeMetadata/v1/instance/id', { headers: {} });
    assert.equal(answer.status, 403);
    assert.equal(answer.headers['metadata-flavor'], 'Google');
    assert.match(answer.body, /Metadata-Flavor/);
    const wrong = await get(server, '/computeMetadata/v1/instance/id', { headers: { 'Metadata-Flavor': 'Azure' } });
    assert.equal(wrong.status, 403);
  });

  test('a request carrying X-Forwarded-For is refused even with the flavor header', async () => {
    const answer = await get(server, '/computeMetadata/v1/instance/id', {
      headers: { 'Metadata-Flavor': 'Google', 'X-Forwarded-For': '203.0.113.9' },
    });
    assert.equal(answer.status, 403);
  });

  test('leaves answer as Compute Engine lays them out', async () => {
    const expect = {
      'instance/id': facts.id,
      'instance/name': 'vm1',
      'instance/zone': 'projects/123456789012/zones/us-central1-a',
      'instance/hostname': 'vm1.us-central1-a.c.operator-project.internal',
      'project/project-id': 'operator-project',
      'project/numeric-project-id': '123456789012',
      'instance/attributes/tee-restart-policy': 'Never',
      'instance/service-accounts/default/email': facts.serviceAccount.email,
      'instance/service-accounts/default/scopes': 'https://www.googleapis.com/auth/cloud-platform\n',
      'universe/universe-domain': 'googleapis.com',
    };
    for (const [path, value] of Object.entries(expect)) {
      const answer = await get(server, `/computeMetadata/v1/${path}`);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body, value, path);
      assert.equal(answer.headers['metadata-flavor'], 'Google');
      assert.match(String(answer.headers.etag), /^[0-9a-f]{16}$/);
    }
    const json = await get(server, '/computeMetadata/v1/instance/name?alt=json');
    assert.equal(json.body, '"vm1"');
    assert.equal(json.headers['content-type'], 'application/json');
  });

  test('directories list with trailing slashes; without the slash they redirect', async () => {
    const accounts = await get(server, '/computeMetadata/v1/instance/service-accounts/');
    assert.equal(accounts.body, `default/\n${facts.serviceAccount.email}/\n`);
    const account = await get(server, '/computeMetadata/v1/instance/service-accounts/default/');
    assert.equal(account.body, 'aliases\nemail\nidentity\nscopes\ntoken\n');
    // Python's google-auth pings the root and wants 200 with the flavor header.
    const root = await get(server, '/');
    assert.equal(root.status, 200);
    assert.equal(root.body, 'computeMetadata/\n');
    assert.equal(root.headers['metadata-flavor'], 'Google');
    assert.equal((await get(server, '/computeMetadata/')).body, 'v1/\n');
    assert.equal((await get(server, '/', { headers: {} })).status, 403);
    const moved = await get(server, '/computeMetadata/v1/instance');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, '/computeMetadata/v1/instance/');
  });

  test('recursive=true answers JSON with camelCase fixed keys, exact ids and the attributes as given', async () => {
    const answer = await get(server, '/computeMetadata/v1/instance/?recursive=true');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/json');
    // The id has 19 digits: it is written as a number, exactly.
    assert.match(answer.body, /"id":8123456789012345678[,}]/);
    const parsed = JSON.parse(answer.body) as Record<string, unknown>;
    assert.deepEqual(parsed.attributes, {
      'tee-image-reference': 'registry.example/p/r/tee@sha256:abc',
      'tee-restart-policy': 'Never',
    });
    const accounts = parsed.serviceAccounts as Record<string, { email: string; aliases: string[]; scopes: string[] }>;
    assert.equal(accounts.default?.email, facts.serviceAccount.email);
    assert.deepEqual(accounts.default?.aliases, ['default']);
    assert.equal('token' in (accounts.default ?? {}), false);
    const project = JSON.parse((await get(server, '/computeMetadata/v1/project/?recursive=true')).body);
    assert.equal(project.projectId, 'operator-project');
    const text = await get(server, '/computeMetadata/v1/instance/attributes/?recursive=true&alt=text');
    assert.equal(text.body, 'tee-image-reference registry.example/p/r/tee@sha256:abc\ntee-restart-policy Never\n');
  });

  test('token answers Google’s shape, with the instance scopes or the ones asked for', async () => {
    const answer = await get(server, '/computeMetadata/v1/instance/service-accounts/default/token');
    assert.deepEqual(JSON.parse(answer.body), { access_token: 'access-1', expires_in: 3599, token_type: 'Bearer' });
    await get(server, `/computeMetadata/v1/instance/service-accounts/${facts.serviceAccount.email}/token?scopes=a,b`);
    assert.deepEqual(minted.scopes.at(-1), ['a', 'b']);
  });

  test('identity needs an audience and passes format and licenses on', async () => {
    const base = '/computeMetadata/v1/instance/service-accounts/default/identity';
    assert.equal((await get(server, base)).status, 400);
    assert.equal((await get(server, `${base}?audience=x&format=weird`)).status, 400);
    const answer = await get(server, `${base}?audience=https%3A%2F%2Fexample.com&format=full&licenses=TRUE`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'id-token-for-https://example.com');
    assert.deepEqual(minted.identities.at(-1), { audience: 'https://example.com', format: 'full', licenses: true });
  });

  test('another account, an unknown path or a bad parameter is not found or refused', async () => {
    assert.equal((await get(server, '/computeMetadata/v1/instance/service-accounts/other@x.com/token')).status, 404);
    assert.equal((await get(server, '/computeMetadata/v1/instance/nothing')).status, 404);
    assert.equal((await get(server, '/computeMetadata/v2/instance/id')).status, 404);
    assert.equal((await get(server, '/computeMetadata/v1/instance/id?alt=xml')).status, 400);
    assert.equal(
      (await get(server, '/computeMetadata/v1/instance/id?wait_for_change=true&timeout_sec=-1')).status,
      400,
    );
  });

  test('wait_for_change returns when the value changes, with the new ETag', async () => {
    const path = '/computeMetadata/v1/instance/attributes/?recursive=true';
    const first = await get(server, path);
    const waiting = get(server, `${path}&wait_for_change=true&timeout_sec=600`);
    await parked(server, 1);
    server.setAttributes({ 'tee-restart-policy': 'Never', extra: 'one' });
    const changed = await waiting;
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, first.headers.etag);
    assert.equal(JSON.parse(changed.body).extra, 'one');
    // A stale last_etag answers at once; the current one waits until the timeout and answers the same value.
    const stale = await get(server, `${path}&wait_for_change=true&last_etag=${first.headers.etag}`);
    assert.equal(stale.body, changed.body);
    const timedOut = await get(server, `${path}&wait_for_change=true&last_etag=${changed.headers.etag}&timeout_sec=1`);
    assert.equal(timedOut.headers.etag, changed.headers.etag);
  });

  test('wait_for_change on one key ignores changes to another', async () => {
    server.setAttributes({ a: '1', b: '1' });
    const waiting = get(server, '/computeMetadata/v1/instance/attributes/b?wait_for_change=true&timeout_sec=600');
    await parked(server, 1);
    server.setAttributes({ a: '2', b: '1' });
    server.setAttributes({ a: '2', b: '2' });
    assert.equal((await waiting).body, '2');
  });
});

describe('metadata server with an allowed peer', () => {
  let server: MetadataServer;
  before(async () => {
    server = await startMetadataServer({
      facts,
      attributes: {},
      credentials: {
        accessToken: async () => ({ accessToken: 'secret', expiresInSeconds: 1 }),
        identityToken: async () => 'secret',
      },
      host: '127.0.0.1',
      allowedPeers: ['127.0.0.2'],
      logger: silentLogger,
    });
  });
  after(() => server.close());

  test('answers the instance address and closes the connection of any other', async () => {
    const own = await get(server, '/computeMetadata/v1/instance/name', { localAddress: '127.0.0.2' });
    assert.equal(own.body, 'vm1');
    await assert.rejects(
      get(server, '/computeMetadata/v1/instance/name', { localAddress: '127.0.0.3' }),
      /ECONNRESET|socket hang up/,
    );
    await assert.rejects(
      get(server, '/computeMetadata/v1/instance/service-accounts/default/token', { localAddress: '127.0.0.1' }),
      /ECONNRESET|socket hang up/,
    );
  });
});
