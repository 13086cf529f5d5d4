// Host port reservations: a port another program listens on, even on loopback only, is never taken over.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { portInUse, reserveHostPort } from './port-reservation.ts';

test('a port with a loopback-only listener counts as used, and publishing picks another', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    assert.equal(await portInUse('tcp', port), true);
    const reservation = await reserveHostPort('tcp', port, new Set());
    assert.notEqual(reservation.port, port);
    assert.equal(await portInUse('tcp', reservation.port), true, 'the reservation itself holds its port');
    await reservation.release();
  } finally {
    server.close();
  }
});

test('a free port is published under its own number unless this host already uses it', async () => {
  const first = await reserveHostPort('udp', 0, new Set());
  const port = first.port;
  await first.release();
  const same = await reserveHostPort('udp', port, new Set());
  assert.equal(same.port, port);
  await same.release();
  const other = await reserveHostPort('udp', port, new Set([port]));
  assert.notEqual(other.port, port);
  await other.release();
});
