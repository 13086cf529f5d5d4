// The workload's processing: counts across collaborators, dead-letters what it cannot trust, survives restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { ATTR_COLLABORATOR, createContributionSealer, type WireMessage } from './contribution.ts';
import { type ProcessorOptions, createContributionProcessor } from './processor.ts';
import { type StateStore, createMemoryStateStore } from './sealed-state.ts';
import { createTally } from './tally.ts';
import { type CollaboratorKeys, createFakeKms, deliver, keysFor } from './test-support.ts';

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

  it('keeps the batch unacked and un-nacked while sealing fails, and acks it once a seal succeeds', async () => {
    let refuse = true;
    const saved: unknown[] = [];
    const flaky: StateStore = {
      load: async () => undefined,
      save: async (snapshot) => {
        if (refuse) throw new Error('disk full');
        saved.push(snapshot);
      },
    };
    const t = setup(flaky);
    const { processor } = await t.start({ flushDelayMs: 60_000 });
    const message = deliver(await t.sealer(1).seal('alice'));
    await processor.handle(message);
    await processor.flush();
    assert.equal(message.state, 'pending', 'a nack would bring it back as a duplicate, acked before any seal');
    // Redelivered meanwhile: acked only with the seal that covers it, never before.
    const copy = deliver({ attributes: message.attributes, data: message.data });
    assert.equal(await processor.handle(copy), 'duplicate');
    assert.equal(copy.state, 'pending');
    refuse = false;
    await processor.flush();
    assert.deepEqual([message.state, copy.state], ['acked', 'acked']);
    assert.equal(saved.length, 1);
    processor.abandon();
  });
});

/** A collaborator whose STS/KMS can be taken down: calls fail with `failure()` while it is. */
function flakyKeys(keys: CollaboratorKeys) {
  const state = {
    failure: undefined as (() => Error) | undefined,
    calls: 0,
  };
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls += 1;
    if (state.failure) throw state.failure();
    return fn();
  };
  const wrapped: CollaboratorKeys = {
    unwrapDataKey: (wrapped) => guard(() => keys.unwrapDataKey(wrapped)),
    decrypt: (ciphertext, aad) => guard(() => keys.decrypt(ciphertext, aad)),
  };
  return { state, keys: wrapped };
}

/** The errors the official clients raise, in the shapes they raise them. */
const STS_EXPIRED = () =>
  Object.assign(new Error('Error code invalid_grant: The subject token has expired (exp).'), {
    code: 400,
    response: {
      status: 400,
      data: { error: 'invalid_grant', error_description: 'The subject token has expired (exp).' },
    },
  });
const STS_CONDITION = () =>
  new Error('Error code unauthorized_client: The given credential is rejected by the attribute condition.');
const KMS_UNREACHABLE = () =>
  Object.assign(new Error('connect ECONNREFUSED'), {
    code: 14,
    cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
  });

describe('contribution processor through outages', () => {
  const until = async (condition: () => boolean, what: string) => {
    for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
    assert.ok(condition(), what);
  };
  const outageSetup = () => {
    const kms = createFakeKms();
    const c1 = flakyKeys(keysFor('collaborator-1', kms.wrapperFor(key(1))));
    const c2 = flakyKeys(keysFor('collaborator-2', kms.wrapperFor(key(2))));
    const tally = createTally();
    const logger = createMemoryLogger();
    const processor = createContributionProcessor({
      collaborators: new Map([
        ['collaborator-1', c1.keys],
        ['collaborator-2', c2.keys],
      ]),
      tally,
      store: createMemoryStateStore(),
      logger,
      retry: { initialMs: 1, maxMs: 4 },
    });
    const sealer = (n: number) =>
      createContributionSealer({
        collaborator: `collaborator-${n}`,
        wrapper: kms.wrapperFor(key(n)),
        mode: 'envelope',
      });
    return { c1, c2, tally, logger, processor, sealer };
  };

  for (const [what, failure] of [
    ['its KMS is unreachable', KMS_UNREACHABLE],
    ['the attestation token has expired (the verifier is down)', STS_EXPIRED],
  ] as const) {
    it(`holds a contribution while ${what}, spends no delivery attempt, and counts it once it answers`, async () => {
      const t = outageSetup();
      t.c1.state.failure = failure;
      const message = deliver(await t.sealer(1).seal('alice'));
      const outcome = t.processor.handle(message);
      await until(() => t.c1.state.calls >= 5, 'retried several times');
      assert.equal(message.state, 'pending', 'neither acked nor nacked while the outage lasts');
      assert.equal(t.processor.stats.held, 1);
      assert.equal(t.processor.stats.rejected, 0);
      t.c1.state.failure = undefined;
      assert.equal(await outcome, 'counted');
      await t.processor.flush();
      assert.equal(message.state, 'acked');
      assert.deepEqual(t.tally.result(1).counts, { alice: 1 });
      assert.equal(t.processor.stats.held, 0);
      const log = JSON.stringify(t.logger.entries);
      assert.match(log, /holding its contributions and retrying/);
      assert.match(log, /reachable again/);
      assert.doesNotMatch(log, /alice/);
      t.processor.abandon();
    });
  }

  it('dead-letters at once what can never be counted, even during an outage: a refused token, tampered ciphertext', async () => {
    const t = outageSetup();
    t.c1.state.failure = STS_CONDITION;
    const refused = deliver(await t.sealer(1).seal('alice'));
    assert.equal(await t.processor.handle(refused), 'rejected');
    assert.equal(refused.state, 'nacked');
    t.c1.state.failure = undefined;
    t.c2.state.failure = KMS_UNREACHABLE;
    const wire = await t.sealer(1).seal('alice');
    const tampered = Buffer.from(wire.data);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 1;
    const bad = deliver({ ...wire, data: tampered });
    assert.equal(await t.processor.handle(bad), 'rejected', 'collaborator-2 being down changes nothing here');
    assert.equal(bad.state, 'nacked');
    t.processor.abandon();
  });

  it('an outage of one collaborator holds only its contributions', async () => {
    const t = outageSetup();
    t.c2.state.failure = KMS_UNREACHABLE;
    const held = deliver(await t.sealer(2).seal('bob'));
    const heldOutcome = t.processor.handle(held);
    const other = deliver(await t.sealer(1).seal('alice'));
    assert.equal(await t.processor.handle(other), 'counted');
    await t.processor.flush();
    assert.equal(other.state, 'acked');
    assert.equal(held.state, 'pending');
    t.c2.state.failure = undefined;
    assert.equal(await heldOutcome, 'counted');
    t.processor.abandon();
  });

  it('answers a sender waiting on the result (the mTLS ingress) to retry later instead of holding it', async () => {
    const t = outageSetup();
    t.c1.state.failure = STS_EXPIRED;
    let told = '';
    const message = {
      ...deliver(await t.sealer(1).seal('alice')),
      retryLater: () => {
        told = 'retry';
      },
    };
    assert.equal(await t.processor.handle(message), 'retry-later');
    assert.equal(told, 'retry');
    assert.equal(message.state, 'pending');
    t.processor.abandon();
  });

  it('abandoning ends held contributions without an ack or a nack', async () => {
    const t = outageSetup();
    t.c1.state.failure = KMS_UNREACHABLE;
    const message = deliver(await t.sealer(1).seal('alice'));
    const outcome = t.processor.handle(message);
    await until(() => t.processor.stats.held === 1, 'held');
    t.processor.abandon();
    assert.equal(await outcome, 'abandoned');
    assert.equal(message.state, 'pending');
  });
});
