// A host agent and the control plane over the real mutual-TLS channel: lines written while the channel is down
// reach the control plane after the reconnect, each once and in order; a replay to another process is not recorded twice.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSealer, openSqliteDatabase, silentLogger, systemClock } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { issueDeploymentClientCertificate, loadOrCreateDeploymentTls } from '@sealroom/transport';
import type { BootRequest, HostAgent, InstanceEvents } from '../host-agent.ts';
import { certificateFingerprint } from './enrolment.ts';
import { startHostRunner } from './host-runner.ts';
import { openHostSealer } from './host-seal.ts';
import { writeHostKey } from './host-state.ts';
import { type HostListener, startHostListener } from './listener.ts';
import type { Frame, Peer } from './peer.ts';
import { createRemoteHosts } from './remote-agent.ts';
import { openSqlHostStore } from './store.ts';

const POOL = 'us-central1-a';

/** Polls `condition` every 20 ms, at most `tries` times. */
async function until(what: string, condition: () => boolean, tries = 1500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function request(id: string): BootRequest {
  return {
    instanceId: id,
    name: `vm${id}`,
    zone: POOL,
    projectId: 'p',
    projectNumber: '1',
    imageFamily: 'confidential-space',
    metadata: {},
    serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
    previousBoots: 0,
  };
}

function recorder(): InstanceEvents & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    status: () => {},
    serial: (line) => lines.push(line),
    workloadLog: () => {},
    booted: () => {},
    exited: () => {},
    settled: async () => {},
  };
}

/** An agent that boots nothing: the test writes the instance's events itself, as a launcher would. */
function fakeAgent(booted: Map<string, InstanceEvents>): HostAgent {
  return {
    powerOn: (request, events) => void booted.set(request.instanceId, events),
    powerOff: async (id) => void booted.delete(id),
    exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    discard: async () => {},
    isRunning: (id) => booted.has(id),
    close: async () => {},
  };
}

test('serial lines written while the channel is down arrive after the reconnect, once each and in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-host-outage-'));
  const db = openSqliteDatabase({ path: ':memory:' });
  const sealer = createSealer(randomBytes(32));
  const tlsDir = join(dir, 'tls');
  const tls = await loadOrCreateDeploymentTls(tlsDir, sealer, ['127.0.0.1']);
  const store = await openSqlHostStore(db);
  const remote = createRemoteHosts({
    credentials: { accessToken: async () => '', idToken: async () => '' },
    certifyAk: () => Buffer.alloc(0),
    clock: systemClock,
    logger: silentLogger,
    lostMs: 60_000,
    marks: store,
  });
  const listen = (port: number) =>
    startHostListener({
      host: '127.0.0.1',
      port,
      tls: { keyPem: tls.keyPem, certPem: tls.certPem, caPem: tls.caPem },
      store,
      remote,
      logger: silentLogger,
      now: () => Date.now(),
    });
  let listener: HostListener = await listen(0);
  const { port } = listener;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = issueDeploymentClientCertificate(tlsDir, sealer, {
    publicKey,
    commonName: 'h1',
    organization: `Sealroom host pool ${POOL}`,
    validDays: 1,
  });
  await store.putHost({ name: 'h1', pool: POOL, fingerprint: certificateFingerprint(cert), joinTime: 0, lastSeen: 0 });
  remote.addPool(POOL);
  const stateDir = join(dir, 'host');
  const meta = {
    // Nothing answers there: the agent's endpoint refresh fails and it keeps the channel endpoint it has.
    api: 'http://127.0.0.1:9',
    name: 'h1',
    pool: POOL,
    channelEndpoint: `https://127.0.0.1:${port}`,
    universeDomain: 'googleapis.com',
  };
  mkdirSync(stateDir, { mode: 0o700 });
  writeFileSync(join(stateDir, 'host.json'), JSON.stringify(meta));
  writeFileSync(join(stateDir, 'host-cert.pem'), cert);
  writeFileSync(join(stateDir, 'ca.pem'), tls.caPem);
  const hostSealer = await openHostSealer({ stateDir, tpm: 'none' });
  writeHostKey(stateDir, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), hostSealer);
  const booted = new Map<string, InstanceEvents>();
  const runner = await startHostRunner({
    stateDir,
    logger: silentLogger,
    outbound: createOutboundClient(),
    launcherBuild: 'sha256:test',
    agent: () => fakeAgent(booted),
  });
  const events = recorder();
  try {
    await until('the host to connect', () => remote.view().some((h) => h.name === 'h1' && h.connected));
    remote.agent.powerOn(request('11'), events);
    await until('the boot on the host', () => booted.has('11'));
    const host = booted.get('11') as InstanceEvents;
    for (let i = 1; i <= 50; i++) host.serial(`line ${i}`);
    await until('the first lines', () => events.lines.length >= 51);

    // The control plane's listener goes away (as a replica's would): the channel is cut under the agent.
    await listener.close();
    await until('the agent to see the loss', () => !remote.view().some((h) => h.connected));
    for (let i = 51; i <= 150; i++) host.serial(`line ${i}`);
    listener = await listen(port);
    await until('the replayed lines', () => events.lines.length >= 151);
    await new Promise((r) => setTimeout(r, 200));
    const expected = ['sealroom: placed on host h1 (pool us-central1-a)'];
    for (let i = 1; i <= 150; i++) expected.push(`line ${i}`);
    assert.deepEqual(events.lines, expected);
    const marks = await store.eventMarks('h1');
    assert.equal(marks.get('11')?.seq, 150, 'the mark of the last recorded line is in the database');
  } finally {
    await runner.close();
    await listener.close();
    await remote.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('events replayed to another control-plane process are not recorded twice (marks in the database)', async () => {
  const db = openSqliteDatabase({ path: ':memory:' });
  const store = await openSqlHostStore(db);
  const make = () =>
    createRemoteHosts({
      credentials: { accessToken: async () => '', idToken: async () => '' },
      certifyAk: () => Buffer.alloc(0),
      clock: systemClock,
      logger: silentLogger,
      lostMs: 60_000,
      marks: store,
    });
  /** A host's channel as the control plane sees it; what the control plane sends (acknowledgements) is kept. */
  const attach = (remote: ReturnType<typeof make>) => {
    const sent: Frame[] = [];
    const peer: Peer = {
      send: (f) => void sent.push(f),
      call: async () => undefined,
      close: () => {},
      closed: new Promise<void>(() => {}),
    };
    remote.attach({ name: 'h1', pool: POOL, peer });
    return sent;
  };
  const frame = (seq: number) => ({
    type: 'event',
    boot: 'abc123',
    seq,
    event: { kind: 'serial', instanceId: '5', line: `line ${seq}` },
  });
  try {
    const first = make();
    const acksA = attach(first);
    const eventsA = recorder();
    first.agent.powerOn(request('5'), eventsA);
    for (let seq = 1; seq <= 3; seq++) first.onFrame('h1', frame(seq));
    await until('the acknowledgement', () => acksA.some((f) => (f as { seq?: number }).seq === 3));
    await first.close();

    // The host had no acknowledgement of 2 and 3 yet when it moved: it replays them to the other process.
    const second = make();
    attach(second);
    const eventsB = recorder();
    second.agent.powerOn(request('5'), eventsB);
    for (let seq = 2; seq <= 5; seq++) second.onFrame('h1', frame(seq));
    await until('the new lines', () => eventsB.lines.includes('line 5'));
    assert.deepEqual(eventsA.lines.slice(1), ['line 1', 'line 2', 'line 3']);
    assert.deepEqual(eventsB.lines.slice(1), ['line 4', 'line 5']);
    await second.close();
  } finally {
    await db.close();
  }
});
