// The workload's processing: counts across collaborators, dead-letters what it cannot trust, survives restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { ATTR_COLLABORATOR, createContributionSealer, type WireMessage } from './contribution.ts';
import { type ProcessorOptions, createContributionProcessor } from './processor.ts';
import { type StateStore, createMemoryStateStore } from './sealed-state.ts';
import { createTally } from './tally.ts';
import { createFakeKms, deliver, keysFor } from './test-support.ts';

const key = (n: number) => `projects/c${n}/locations/global/keyRings/kr1/cryptoKeys/key1`;

function setup(store: StateStore = createMemoryStateStore()) {
  const kms = createFakeKms();
  const collaborators = new Map([
    ['collaborator-1', keysFor('collaborator-1', kms.wrapperFor(key(1)))],
    ['collaborator-2', keysFor('collaborator-2', kms.wrapperFor(key(2)))],
  ]);
  const sealer = (n: number, mode: 'envelope' | 'kms' = 'envelope') =>
    createContributionSealer({ collaborator: `collaborator-${n}`, wrapper: kms.wrapperFor(key(n)), mode });
  const logger = createMemoryLogger();
  const start = async (options: Partial<ProcessorOptions> = {}) => {
    const snapshot = await store.load();
    const tally = createTally(snapshot);
    return { tally, processor: createContributionProcessor({ collaborators, tally, store, logger, ...options }) };
  };
  return { kms, sealer, logger, start, store };
}

describe('contribution processor', () => {
  it('counts alice from both collaborators as 2, in envelope and per-message mode', async () => {
    const t = setup();
    const { tally, processor } = await t.start();
    const messages = [
      deliver(await t.sealer(1).seal('alice')),
      deliver(await t.sealer(2, 'kms').seal('alice')),
      deliver(await t.sealer(2).seal('bob')),
    ];
    for (const message of messages) assert.equal(await processor.handle(message), 'counted');
    await processor.flush();
    assert.deepEqual(tally.result(1).counts, { alice: 2, bob: 1 });
    assert.deepEqual(
      messages.map((m) => m.state),
      ['acked', 'acked', 'acked'],
    );
  });

  it('acks counted messages only after the state is sealed', async () => {
    const t = setup();
    const { processor } = await t.start({ flushDelayMs: 60_000 });
    const message = deliver(await t.sealer(1).seal('alice'));
    await processor.handle(message);
    assert.equal(message.state, 'pending');
    await processor.flush();
    assert.equal(message.state, 'acked');
  });

  it('nacks a message naming a collaborator outside the configuration, logging why without its body', async () => {
    const t = setup();
    const { tally, processor } = await t.start();
    const intruder = createContributionSealer({
      collaborator: 'collaborator-3',
      wrapper: t.kms.wrapperFor(key(3)),
      mode: 'envelope',
    });
    const message = deliver(await intruder.seal('mallory'));
    assert.equal(await processor.handle(message), 'rejected');
    assert.equal(message.state, 'nacked');
    assert.deepEqual(tally.result(1).counts, {});
    const line = JSON.stringify(t.logger.entries);
    assert.match(line, /ERR_WORDCOUNT_UNKNOWN_COLLABORATOR/);
    assert.doesNotMatch(line, /mallory/);
  });

  it('nacks tampered ciphertext and a message relabelled as another collaborator', async () => {
    const t = setup();
    const { tally, processor } = await t.start();
    const wire = await t.sealer(1).seal('alice');
    const tampered = Buffer.from(wire.data);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 1;
    const relabelled: WireMessage = {
      attributes: { ...wire.attributes, [ATTR_COLLABORATOR]: 'collaborator-2' },
      data: wire.data,
    };
    for (const message of [deliver({ ...wire, data: tampered }), deliver(relabelled)]) {
      assert.equal(await processor.handle(message), 'rejected');
      assert.equal(message.state, 'nacked');
    }
    assert.equal(tally.snapshot().seen.length, 0);
    assert.equal(processor.stats.rejected, 2);
  });

  it('does not count a redelivered contribution twice, concurrent redeliveries included', async () => {
    const t = setup();
    const { tally, processor } = await t.start();
    const wire = await t.sealer(1).seal('alice');
    const outcomes = await Promise.all([processor.handle(deliver(wire)), processor.handle(deliver(wire))]);
    assert.deepEqual(outcomes.sort(), ['counted', 'duplicate']);
    await processor.flush();
    assert.equal(await processor.handle(deliver(wire)), 'duplicate');
    assert.deepEqual(tally.result(1).counts, { alice: 1 });
  });

  it('loses nothing and double-counts nothing when killed before or after sealing', async () => {
    const store = createMemoryStateStore();
    const t = setup(store);
    const first = await t.start({ flushDelayMs: 60_000 });
    const sealed = await t.sealer(1).seal('alice');
    const unsealed = await t.sealer(2).seal('alice');
    await first.processor.handle(deliver(sealed));
    await first.processor.flush();
    await first.processor.handle(deliver(unsealed)); // killed before this one is sealed: it stays unacked
    // Restart: Pub/Sub redelivers both (the first ack may have been lost too).
    const second = await t.start();
    assert.equal(await second.processor.handle(deliver(sealed)), 'duplicate');
    assert.equal(await second.processor.handle(deliver(unsealed)), 'counted');
    await second.processor.flush();
    assert.deepEqual(second.tally.result(1).counts, { alice: 2 });
  });

  it('nacks the batch when sealing fails, so the messages come back', async () => {
    const failing: StateStore = {
      load: async () => undefined,
      save: async () => {
        throw new Error('disk full');
      },
    };
    const t = setup(failing);
    const { processor } = await t.start();
    const message = deliver(await t.sealer(1).seal('alice'));
    await processor.handle(message);
    await processor.flush();
    assert.equal(message.state, 'nacked');
  });
});
