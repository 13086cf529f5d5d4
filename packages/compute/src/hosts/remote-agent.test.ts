// The control plane's remote hosts over in-memory channels: placement by pool, events, calls checked per host, loss.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { createFakeClock, silentLogger } from '@sealroom/core';
import type { BootRequest, InstanceEvents, InstanceNetworkFacts } from '../host-agent.ts';
import { type Frame, createPeer } from './peer.ts';
import { createRemoteHosts } from './remote-agent.ts';

/** Two duplex ends wired to each other, as an HTTP/2 stream is between the two processes. */
function pipePair(): [Duplex, Duplex] {
  let left: Duplex;
  let right: Duplex;
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        other().push(chunk);
        done();
      },
      final(done) {
        other().push(null);
        done();
      },
    });
  left = make(() => right);
  right = make(() => left);
  return [left, right];
}

function request(id: string, zone: string, email = 'sa@p.iam.gserviceaccount.com'): BootRequest {
  return {
    instanceId: id,
    name: `vm${id}`,
    zone,
    projectId: 'p',
    projectNumber: '1',
    imageFamily: 'confidential-space',
    metadata: {},
    serviceAccountEmail: email,
    previousBoots: 0,
  };
}

function recorder(): InstanceEvents & { lines: string[]; statuses: string[]; networks: InstanceNetworkFacts[] } {
  const lines: string[] = [];
  const statuses: string[] = [];
  const networks: InstanceNetworkFacts[] = [];
  return {
    lines,
    statuses,
    networks,
    status: (s, m) => statuses.push(`${s}:${m}`),
    serial: (l) => lines.push(l),
    workloadLog: () => {},
    booted: () => {},
    exited: () => {},
    network: (facts) => networks.push(facts),
  };
}

function setup() {
  const clock = createFakeClock();
  const remote = createRemoteHosts({
    credentials: {
      accessToken: async (email) => `access-for-${email}`,
      idToken: async (email, audience, actor) => `id-${email}-${audience}-${actor}`,
    },
    certifyAk: () => Buffer.from('cert'),
    clock,
    logger: silentLogger,
    lostMs: 60_000,
  });
  const hosts = new Map<
    string,
    { frames: Frame[]; call: (op: string, args: Record<string, unknown>) => Promise<unknown>; end: () => void }
  >();
  const connect = (name: string, pool: string) => {
    const [server, client] = pipePair();
    const frames: Frame[] = [];
    const hostPeer = createPeer(client, {
      onFrame: (f) => frames.push(f),
      onCall: async (op) => (op === 'powerOff' ? undefined : op),
    });
    const peer = createPeer(server, {
      onFrame: (f) => remote.onFrame(name, f),
      onCall: (op, f) => remote.onCall(name, op, f),
    });
    remote.attach({ name, pool, peer });
    hosts.set(name, { frames, call: (op, args) => hostPeer.call(op, args), end: () => client.destroy() });
  };
  return { remote, connect, hosts };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('remote hosts', () => {
  it('places an instance on the least loaded connected host of its zone and lists it there', async () => {
    const { remote, connect, hosts } = setup();
    connect('h1', 'us-central1-a');
    connect('h2', 'us-central1-a');
    connect('h3', 'us-central1-b');
    remote.agent.powerOn(request('1', 'us-central1-a'), recorder());
    remote.agent.powerOn(request('2', 'us-central1-a'), recorder());
    await tick();
    const placed = [...hosts.entries()].filter(([, h]) => h.frames.some((f) => f.type === 'powerOn')).map(([n]) => n);
    assert.deepEqual(placed.sort(), ['h1', 'h2']);
    const view = remote.view();
    assert.deepEqual(view.find((h) => h.name === 'h1')?.instances.length, 1);
    assert.deepEqual(view.find((h) => h.name === 'h3')?.instances, []);
    assert.equal(remote.agent.isRunning('1'), true);
  });

  it('refuses an instance whose pool has no connected host, and says so', () => {
    const { remote } = setup();
    const events = recorder();
    remote.agent.powerOn(request('1', 'us-east1-b'), events);
    assert.match(events.statuses[0] ?? '', /^TERMINATED:no host of pool us-east1-b/);
  });

  it('gives a host tokens only for accounts of instances it runs, and drops events for others', async () => {
    const { remote, connect, hosts } = setup();
    connect('h1', 'us-central1-a');
    connect('h2', 'us-central1-a');
    const events = recorder();
    remote.agent.powerOn(request('1', 'us-central1-a', 'a@p.iam.gserviceaccount.com'), events);
    await tick();
    const [mine, other] = hosts.get('h1')?.frames.some((f) => f.type === 'powerOn') ? ['h1', 'h2'] : ['h2', 'h1'];
    const own = hosts.get(mine as string);
    const stranger = hosts.get(other as string);
    assert.equal(
      await own?.call('accessToken', { email: 'a@p.iam.gserviceaccount.com' }),
      'access-for-a@p.iam.gserviceaccount.com',
    );
    await assert.rejects(
      stranger?.call('accessToken', { email: 'a@p.iam.gserviceaccount.com' }) as Promise<unknown>,
      /No instance on this host/,
    );
    const ak = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    await assert.rejects(
      stranger?.call('certifyAk', { instanceId: '1', akPublicKey: ak.toString('base64') }) as Promise<unknown>,
      /not placed on this host/,
    );
    assert.equal(
      await own?.call('certifyAk', { instanceId: '1', akPublicKey: ak.toString('base64') }),
      Buffer.from('cert').toString('base64'),
    );
    remote.onFrame(other as string, { type: 'event', event: { kind: 'serial', instanceId: '1', line: 'forged' } });
    remote.onFrame(mine as string, { type: 'event', event: { kind: 'serial', instanceId: '1', line: 'real' } });
    await tick();
    assert.ok(!events.lines.includes('forged'));
    assert.ok(events.lines.includes('real'));
    // The instance's published ports reach the control plane from its own host only.
    const facts = (hostPort: number) => ({
      isolation: 'namespace',
      networkIP: '10.213.0.2',
      gatewayAddress: '10.213.0.1',
      publishedPorts: [{ protocol: 'tcp', containerPort: 9443, hostPort }],
    });
    remote.onFrame(other as string, { type: 'event', event: { kind: 'network', instanceId: '1', facts: facts(1) } });
    remote.onFrame(mine as string, { type: 'event', event: { kind: 'network', instanceId: '1', facts: facts(40123) } });
    await tick();
    assert.deepEqual(
      events.networks.map((n) => n.publishedPorts[0]?.hostPort),
      [40123],
    );
  });
});
