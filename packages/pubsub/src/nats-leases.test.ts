import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NatsLeaseRef } from './nats-codec.ts';
import { createNatsLeaseBook } from './nats-leases.ts';

const ACK_WAIT_MS = 60_000;
const ref = (attempt: number, streamSeq = 7): NatsLeaseRef => ({
  consumerId: '0123456789abcdef',
  partition: 0,
  streamSeq,
  consumerSeq: streamSeq,
  attempt,
});

test('an extension ending within the ack wait of an unmoved lease is covered; past it, or a nack, is sent', () => {
  const cases: { name: string; delayMs: number; nack: boolean; now: number; ackWaitMs: number; want: string }[] = [
    {
      name: 'the Node.js client on arrival',
      delayMs: 10_000,
      nack: false,
      now: 1_000,
      ackWaitMs: ACK_WAIT_MS,
      want: 'covered',
    },
    {
      name: 'ends exactly at the ack wait',
      delayMs: 59_000,
      nack: false,
      now: 1_000,
      ackWaitMs: ACK_WAIT_MS,
      want: 'covered',
    },
    {
      name: 'ends a millisecond past it',
      delayMs: 59_001,
      nack: false,
      now: 1_000,
      ackWaitMs: ACK_WAIT_MS,
      want: 'send',
    },
    { name: 'late in the lease', delayMs: 10_000, nack: false, now: 55_000, ackWaitMs: ACK_WAIT_MS, want: 'send' },
    { name: 'a nack', delayMs: 0, nack: true, now: 1_000, ackWaitMs: ACK_WAIT_MS, want: 'send' },
    { name: 'a nack with a backoff', delayMs: 5_000, nack: true, now: 1_000, ackWaitMs: ACK_WAIT_MS, want: 'send' },
    { name: 'the ack wait shortened since', delayMs: 10_000, nack: false, now: 1_000, ackWaitMs: 30_000, want: 'send' },
  ];
  for (const c of cases) {
    const book = createNatsLeaseBook();
    book.leased(ref(1), 0, ACK_WAIT_MS);
    assert.equal(book.judge(ref(1), c.now, c.delayMs, c.nack, c.ackWaitMs), c.want, c.name);
  }
});

test('once a deadline change of a delivery was sent, every later one is sent too', () => {
  const book = createNatsLeaseBook();
  book.leased(ref(1), 0, ACK_WAIT_MS);
  assert.equal(book.judge(ref(1), 1_000, 120_000, false, ACK_WAIT_MS), 'send');
  assert.equal(book.judge(ref(1), 2_000, 10_000, false, ACK_WAIT_MS), 'send');
});

test('a lease whose deadline moved at once (a longer stream deadline) covers nothing', () => {
  const book = createNatsLeaseBook();
  book.leased(ref(1), 0, 0);
  assert.equal(book.judge(ref(1), 1_000, 10_000, false, ACK_WAIT_MS), 'send');
});

test('an older attempt is stale, a newer one or an unknown delivery is sent, an acked one is forgotten', () => {
  const book = createNatsLeaseBook();
  book.leased(ref(2), 0, ACK_WAIT_MS);
  assert.equal(book.judge(ref(1), 1_000, 10_000, false, ACK_WAIT_MS), 'stale');
  assert.equal(book.judge(ref(3), 1_000, 10_000, false, ACK_WAIT_MS), 'send');
  assert.equal(book.judge(ref(1, 8), 1_000, 10_000, false, ACK_WAIT_MS), 'send');
  book.forget(ref(2));
  assert.equal(book.judge(ref(2), 1_000, 10_000, false, ACK_WAIT_MS), 'send');
});
