import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ORDER_PARTITIONS, parseNatsAckId, partitionOf, toNatsAckId } from './nats-codec.ts';

test('NATS ack ids round-trip, and any other string is refused with ERR_PUBSUB_BAD_ACK_ID, never another error', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[0-9a-f]{16}$/),
      fc.integer({ min: 0, max: ORDER_PARTITIONS }),
      fc.integer({ min: 1, max: 2 ** 52 }),
      fc.integer({ min: 1, max: 2 ** 52 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      (consumerId, partition, streamSeq, consumerSeq, attempt) => {
        const ref = { consumerId, partition, streamSeq, consumerSeq, attempt };
        assert.deepEqual(parseNatsAckId(toNatsAckId(ref)), ref);
      },
    ),
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      try {
        assert.equal(toNatsAckId(parseNatsAckId(text)), text);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'ERR_PUBSUB_BAD_ACK_ID');
      }
    }),
  );
  assert.throws(() => parseNatsAckId('S1.1.1'), { code: 'ERR_PUBSUB_BAD_ACK_ID' });
  assert.throws(() => parseNatsAckId(`N1.${'a'.repeat(16)}.h.1.1.1`), { code: 'ERR_PUBSUB_BAD_ACK_ID' });
});

test('messages without an ordering key go to partition 0; a key always to the same partition among 1..16', () => {
  assert.equal(partitionOf(''), 0);
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), (key) => {
      const p = partitionOf(key);
      assert.ok(p >= 1 && p <= ORDER_PARTITIONS);
      assert.equal(partitionOf(key), p);
    }),
  );
});
