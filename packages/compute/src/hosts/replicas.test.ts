// Two control-plane replicas on one database (their notifications shared, as LISTEN/NOTIFY shares them) and one
// host: a call made on the replica without the host's channel is forwarded, and the host moving to the other
// replica keeps its instance (no second power-on, no "host lost"), its replayed events not recorded twice.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { openSqliteDatabase, silentLogger, systemClock } from '@sealroom/core';
import type { BootRequest, InstanceEvents } from '../host-agent.ts';
import { type Frame, createPeer } from './peer.ts';
import { createRemoteHosts } from './remote-agent.ts';
import { openSqlHostStore } from './store.ts';

const POOL = 'us-central1-a';

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

function recorder(): InstanceEvents & { lines: string[]; statuses: string[] } {
  const lines: string[] = [];
  const statuses: string[] = [];
  return {
    lines,
    statuses,
    status: (s, m) => void statuses.push(`${s}:${m}`),
    serial: (l) => void lines.push(l),
    workloadLog: () => {},
    booted: () => {},
    exited: () => {},
    settled: async () => {},
  };
}

async function until(what: string, condition: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('replicas share a host: forwarded lifecycle calls, a move without a second boot, no event twice', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const store = await openSqlHostStore(db);
  await store.putHost({ name: 'h1', pool: POOL, fingerprint: 'f1', joinTime: 0, lastSeen: 0 });
  /** Each replica's recorder per instance: what that replica wrote of the instance's reports. */
  const written = {
    a: new Map<string, ReturnType<typeof recorder>>(),
    b: new Map<string, ReturnType<typeof recorder>>(),
  };
  const replica = (name: 'a' | 'b') =>
    createRemoteHosts({
      credentials: { accessToken: async () => '', idToken: async () => '' },
      certifyAk: () => Buffer.alloc(0),
      clock: systemClock,
      logger: silentLogger,
      lostMs: 60_000,
      marks: store,
      cluster: {
        replica: name,
        store,
        notifications: db.notifications,
        adopt: async (id) => {
          const events = written[name].get(id) ?? recorder();
          written[name].set(id, events);
          return events;
        },
      },
    });
  const a = replica('a');
  const b = replica('b');
  await Promise.all([a.load(), b.load()]);
  /** The host's end: every frame it got, and its answers to calls (a power-off is confirmed). */
  const frames: Frame[] = [];
  const calls: string[] = [];
  const connectTo = (remote: typeof a) => {
    const [server, client] = pipePair();
    const host = createPeer(client, {
      onFrame: (f) => void frames.push(f),
      onCall: async (op, f) => {
        calls.push(op);
        if (op === 'exec')
          return { exitCode: 0, stdout: `ran ${(f.command as string[]).join(' ')}\n${'x'.repeat(20_000)}`, stderr: '' };
        if (op === 'tokenClaims') return { sub: 'sa@p.iam.gserviceaccount.com' };
        return undefined;
      },
    });
    const peer = createPeer(server, {
      onFrame: (f) => remote.onFrame('h1', f),
      onCall: (op, f) => remote.onCall('h1', op, f),
    });
    remote.attach({ name: 'h1', pool: POOL, peer });
    return host;
  };
  const event = (seq: number, line: string): Frame => ({
    type: 'event',
    boot: 'b007',
    seq,
    event: { kind: 'serial', instanceId: '42', line },
  });
  const request: BootRequest = {
    instanceId: '42',
    name: 'vm',
    zone: POOL,
    projectId: 'p',
    projectNumber: '1',
    imageFamily: 'confidential-space',
    metadata: {},
    serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
    previousBoots: 0,
  };
  const powerOns = () => frames.filter((f) => f.type === 'powerOn').length;
  try {
    const onA = connectTo(a);
    await until('replica b to see the host held by a', () => b.view().some((h) => h.name === 'h1' && h.connected));

    // Created on b, which does not hold the host: b places it, a boots it.
    const created = recorder();
    b.agent.powerOn(request, created);
    assert.match(created.lines[0] ?? '', /placed on host h1/);
    await until('the power-on through a', () => powerOns() === 1);
    assert.equal(b.agent.isRunning('42'), true);
    assert.equal(a.agent.isRunning('42'), true);
    onA.send(event(1, 'hello from the workload'));
    await until('a to record the line', () => written.a.get('42')?.lines.includes('hello from the workload') === true);

    // The host moves to b (a's channel broke for it): b claims it and sends the instance as desired, a lets go.
    onA.send(event(2, 'written before the move'));
    const onB = connectTo(b);
    await until('the desired state from b', () =>
      frames.some((f) => f.type === 'desired' && (f.instances as BootRequest[]).some((r) => r.instanceId === '42')),
    );
    await onA.closed;
    // The host replays what a had not acknowledged yet (or had): nothing is written twice.
    onB.send(event(1, 'hello from the workload'));
    onB.send(event(2, 'written before the move'));
    onB.send(event(3, 'after the move'));
    await until('b to record the new line', () => written.b.get('42')?.lines.includes('after the move') === true);
    const all = [...(written.a.get('42')?.lines ?? []), ...(written.b.get('42')?.lines ?? [])];
    assert.deepEqual(all, ['hello from the workload', 'written before the move', 'after the move']);
    assert.equal(powerOns(), 1, 'booted once');
    assert.ok(!all.some((l) => /host h1 lost/.test(l)));

    // Exec and the token's claims asked on a, which no longer holds the host: b asks the host and answers.
    const ran = await a.agent.exec('42', ['cat', '/etc/os-release']);
    assert.equal(ran.exitCode, 0);
    assert.match(
      ran.stdout,
      /^\[the output is cut to its end: run the command on the replica holding the host for all of it\]\nx+$/,
    );
    assert.ok(Buffer.byteLength(JSON.stringify(ran)) < 8_000, 'one notification carries the reply');
    assert.deepEqual(await a.agent.tokenClaims?.('42'), { sub: 'sa@p.iam.gserviceaccount.com' });
    const direct = await b.agent.exec('42', ['true']);
    assert.match(direct.stdout, /^ran true\n/, 'the replica holding the host asks it directly, uncut');
    assert.equal(direct.stdout.length, 'ran true\n'.length + 20_000);
    assert.deepEqual(calls, ['exec', 'tokenClaims', 'exec']);
    calls.length = 0;

    // Stopped on a, which no longer holds the host: forwarded to b, which asks the host.
    await a.agent.powerOff('42');
    assert.deepEqual(calls, ['powerOff']);
    assert.equal(a.agent.isRunning('42'), false);
    await until('b to forget the placement', () => !b.agent.isRunning('42'));
  } finally {
    await a.close();
    await b.close();
    await db.close();
  }
});
