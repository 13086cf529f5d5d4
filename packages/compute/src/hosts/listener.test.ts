// The host channel's listener over a real socket: only the current certificate of a joined host opens a channel.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSealer, openSqliteDatabase, silentLogger, systemClock } from '@sealroom/core';
import { issueDeploymentClientCertificate, loadOrCreateDeploymentTls } from '@sealroom/transport';
import { certificateFingerprint } from './enrolment.ts';
import { startHostListener } from './listener.ts';
import { CHANNEL_PATH } from './protocol.ts';
import { createRemoteHosts } from './remote-agent.ts';
import { openSqlHostStore } from './store.ts';

/** Opens the channel with this client identity; resolves with the HTTP status, or the TLS error's code. */
async function open(port: number, caPem: string, identity?: { cert: string; key: string }): Promise<number | string> {
  const session = connect(`https://127.0.0.1:${port}`, { ca: caPem, ...(identity ?? {}) });
  try {
    return await new Promise<number | string>((resolve) => {
      session.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      const stream = session.request({ ':method': 'POST', ':path': CHANNEL_PATH });
      stream.once('response', (headers) => resolve(Number(headers[':status'])));
      stream.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
  } finally {
    session.destroy();
  }
}

test('the channel admits a joined host’s certificate only: no certificate, an unknown or a replaced one is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-host-listener-'));
  const db = openSqliteDatabase({ path: ':memory:' });
  const sealer = createSealer(randomBytes(32));
  const tls = await loadOrCreateDeploymentTls(dir, sealer, ['127.0.0.1']);
  const store = await openSqlHostStore(db);
  const remote = createRemoteHosts({
    credentials: { accessToken: async () => '', idToken: async () => '' },
    certifyAk: () => Buffer.alloc(0),
    clock: systemClock,
    logger: silentLogger,
    lostMs: 60_000,
  });
  const listener = await startHostListener({
    host: '127.0.0.1',
    port: 0,
    tls: { keyPem: tls.keyPem, certPem: tls.certPem, caPem: tls.caPem },
    store,
    remote,
    logger: silentLogger,
    now: () => Date.now(),
  });
  const identity = (name: string) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = issueDeploymentClientCertificate(dir, sealer, {
      publicKey,
      commonName: name,
      organization: 'Sealroom host pool us-central1-a',
      validDays: 1,
    });
    return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  };
  /** Host h1 joined with this certificate (a second join replaces the first). */
  const joinH1 = (cert: string) =>
    store.putHost({
      name: 'h1',
      pool: 'us-central1-a',
      fingerprint: certificateFingerprint(cert),
      joinTime: 0,
      lastSeen: 0,
    });
  try {
    const h1 = identity('h1');
    const stranger = identity('h9');
    await joinH1(h1.cert);
    assert.equal(await open(listener.port, tls.caPem, h1), 200);
    assert.ok(remote.view().some((h) => h.name === 'h1' && h.connected));
    assert.equal(await open(listener.port, tls.caPem, stranger), 403, 'signed by the CA, but no joined host');
    assert.notEqual(await open(listener.port, tls.caPem), 200, 'no client certificate');
    const replaced = identity('h1');
    await joinH1(replaced.cert);
    assert.equal(await open(listener.port, tls.caPem, h1), 403, 'the old certificate of a host that joined again');
  } finally {
    await listener.close();
    await remote.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
