// The routes a live console needs: the aggregated list, decoded token claims, the serial console as SSE.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type IamTestContext, createIamTestContext } from '@sealroom/iam/testing';
import { buildRestApp } from '@sealroom/transport';
import { createComputeModule } from './module.ts';
import { createSerialStreams } from './serial-stream.ts';
import { type FakeAgent, createFakeAgent } from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: GCE JSON read field by field
type Json = any;
const PROJECT = '/compute/v1/projects/console-project';
const SA = 'runner@console-project.iam.gserviceaccount.com';

function body(name: string): Record<string, unknown> {
  return {
    name,
    serviceAccounts: [{ email: SA }],
    metadata: { items: [{ key: 'tee-image-reference', value: '127.0.0.1:1/p/r/i:v1' }] },
    disks: [{ boot: true, initializeParams: { sourceImage: 'images/family/confidential-space-debug' } }],
  };
}

/** Reads server-sent events until `until` holds for the events so far, or the stream ends. */
async function readEvents(
  response: Response,
  until: (events: { event: string; data: string; id?: string }[]) => boolean,
): Promise<{ event: string; data: string; id?: string }[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string; id?: string }[] = [];
  let buffer = '';
  for (let i = 0; i < 200 && !until(events); i++) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let at = buffer.indexOf('\n\n');
    while (at >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      at = buffer.indexOf('\n\n');
      if (block.startsWith(':')) continue;
      const fields = Object.fromEntries(
        block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      events.push({
        event: fields.event ?? 'message',
        data: fields.data ?? '',
        ...(fields.id ? { id: fields.id } : {}),
      });
    }
  }
  await reader.cancel();
  return events;
}

describe('console routes of the instances API', () => {
  let t: IamTestContext;
  let agent: FakeAgent;
  let app: Awaited<ReturnType<typeof buildRestApp>>;
  let url: string;
  let stop: () => Promise<void>;
  const tokens: Record<string, string> = {};
  const call = async (who: string, method: string, path: string, payload?: Record<string, unknown>) => {
    const res = await app.inject({
      method: method as 'GET',
      url: path,
      headers: { authorization: `Bearer ${tokens[who]}` },
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, json: res.json() as Json };
  };

  before(async () => {
    t = await createIamTestContext();
    for (const who of ['owner', 'stranger']) tokens[who] = (await t.createUser(`${who}@example.com`)).accessToken;
    const project = await t.createProject('console-project', 'owner@example.com');
    await t.deps.serviceAccounts.create(project, 'runner', 'runs VMs', '');
    agent = createFakeAgent();
    const module = await createComputeModule(t.context, { agent });
    stop = async () => module.stop?.();
    app = await buildRestApp({ routes: module.routes, authenticator: t.context.authenticator, logger: t.logger });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    assert.equal((await call('owner', 'POST', `${PROJECT}/zones/us-central1-a/instances`, body('vm1'))).status, 200);
    assert.equal((await call('owner', 'POST', `${PROJECT}/zones/europe-west4-b/instances`, body('vm2'))).status, 200);
  });
  after(async () => {
    await stop();
    await app.close();
    await t.close();
  });

  test('the aggregated list groups every zone of the project, and is refused to others', async () => {
    const list = await call('owner', 'GET', `${PROJECT}/aggregated/instances`);
    assert.equal(list.status, 200);
    assert.deepEqual(Object.keys(list.json.items).sort(), ['zones/europe-west4-b', 'zones/us-central1-a']);
    assert.equal(list.json.items['zones/us-central1-a'].instances[0].name, 'vm1');
    assert.equal((await call('stranger', 'GET', `${PROJECT}/aggregated/instances`)).status, 403);
    const missing = await call('stranger', 'GET', '/compute/v1/projects/no-such-project/aggregated/instances');
    assert.equal(missing.status, 403, 'missing and denied look the same');
  });

  test('attestation claims come decoded, without the token, and only for callers who may read the instance', async () => {
    const path = `${PROJECT}/zones/us-central1-a/instances/vm1/attestationClaims`;
    const none = await call('owner', 'GET', path);
    assert.equal(none.status, 400);
    assert.equal(none.json.error.details[0].reason, 'ERR_COMPUTE_NO_TOKEN');
    const id = agent.boots.find((b) => b.name === 'vm1')?.instanceId as string;
    agent.tokens.set(id, { header: { alg: 'RS256', kid: 'k1' }, claims: { hwmodel: 'SOFTWARE', sub: 'vm1' } });
    const got = await call('owner', 'GET', path);
    assert.deepEqual(got.json, { header: { alg: 'RS256', kid: 'k1' }, claims: { hwmodel: 'SOFTWARE', sub: 'vm1' } });
    assert.equal((await call('stranger', 'GET', path)).status, 403);
  });

  test('the serial console streams as server-sent events: history, live lines, status, resume, and an end', {
    timeout: 20_000,
  }, async () => {
    const path = `${url}${PROJECT}/zones/us-central1-a/instances/vm1/serialPort:stream`;
    const refused = await fetch(path, { headers: { authorization: `Bearer ${tokens.stranger}` } });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const response = await fetch(path, { headers: { authorization: `Bearer ${tokens.owner}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const id = agent.boots.find((b) => b.name === 'vm1')?.instanceId as string;
    let sent = false;
    const events = await readEvents(response, (seen) => {
      if (!sent && seen.some((e) => e.data.endsWith(' boot of vm1'))) {
        agent.events(id).serial('a line written after the page opened');
        sent = true;
      }
      return seen.some((e) => e.data.endsWith('a line written after the page opened'));
    });
    assert.equal(events[0]?.event, 'instance');
    assert.equal(JSON.parse(events[0]?.data ?? '{}').status, 'RUNNING');
    const live = events.find((e) => e.data.endsWith('a line written after the page opened'));
    assert.equal(live?.event, 'serial');
    const bootLine = events.find((e) => e.data.endsWith(' boot of vm1'));
    const resumed = await fetch(path, {
      headers: { authorization: `Bearer ${tokens.owner}`, 'last-event-id': String(bootLine?.id) },
    });
    const after = await readEvents(resumed, (seen) => seen.some((e) => e.event === 'serial'));
    assert.ok(!after.some((e) => e.data.endsWith(' boot of vm1')), 'a resumed stream starts after the last id');
    assert.ok(after.some((e) => e.data.endsWith('a line written after the page opened')));
  });
});

test('a serial stream ends with a reason when the server stops it, and forgets a stream its client closed', async () => {
  const streams = createSerialStreams();
  const instance = { status: 'RUNNING', statusMessage: '', bootCount: 1 } as never;
  const poll = async () => ({ instance, lines: [] });
  const first = streams.open({ poll, afterSeq: 0, endAtMs: Date.now() + 60_000, now: Date.now, pollMs: 10 });
  const second = streams.open({ poll, afterSeq: 0, endAtMs: Date.now() + 60_000, now: Date.now, pollMs: 10 });
  assert.equal(streams.openCount(), 2);
  second.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(streams.openCount(), 1);
  const chunks: string[] = [];
  first.on('data', (c: Buffer) => chunks.push(c.toString()));
  const ended = new Promise((resolve) => first.once('end', resolve));
  streams.closeAll();
  await ended;
  assert.equal(streams.openCount(), 0);
  assert.match(chunks.join(''), /event: end\ndata: \{"reason":"server stopping"\}/);
  const expired = streams.open({ poll, afterSeq: 0, endAtMs: 0, now: Date.now });
  const text: string[] = [];
  expired.on('data', (c: Buffer) => text.push(c.toString()));
  await new Promise((resolve) => expired.once('end', resolve));
  assert.match(text.join(''), /credential expired/);
});
