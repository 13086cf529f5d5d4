// Results under the output policy: k collaborators, the release logged before delivery, the DP budget sealed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import type { OutputPolicy } from '@sealroom/core';
import { type ReleaseFacts, type ResultRecipient, createResultPublisher } from './release.ts';
import { createSealedFileStateStore } from './sealed-state.ts';
import { type Tally, type WordcountResult, createTally } from './tally.ts';
import { createFakeKms } from './test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'wordcount-release-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function recipient(name: string, options: { logDown?: boolean } = {}) {
  const log: ReleaseFacts[] = [];
  const results: WordcountResult[] = [];
  const r: ResultRecipient & { log: ReleaseFacts[]; results: WordcountResult[] } = {
    name,
    log,
    results,
    async appendRelease(facts) {
      if (options.logDown) throw new Error('transparency log unreachable');
      log.push(facts);
      return { index: log.length - 1, checkpoint: `log.example/transparency\n${log.length}\nAAAA\n` };
    },
    async deliver(result) {
      results.push(result);
    },
  };
  return r;
}

const publisherFor = (
  tally: Tally,
  policy: OutputPolicy,
  recipients: ResultRecipient[],
  save = async () => {},
  logger = createMemoryLogger(),
) => createResultPublisher({ tally, policy, policySource: 'token', recipients, save, logger });

test('with k = 2, a word only one collaborator sent is withheld, and each release is logged before delivery', async () => {
  const tally = createTally();
  tally.add('c1', 'm1', 'alice');
  tally.add('c2', 'm2', 'alice');
  tally.add('c1', 'm3', 'carol');
  tally.add('c1', 'm4', 'carol');
  const [c1, c2] = [recipient('c1'), recipient('c2')];
  const logger = createMemoryLogger();
  await publisherFor(tally, { min_collaborators: 2, min_count: 1 }, [c1, c2], async () => {}, logger).publish();
  // The instance's serial log says how many contributions each published result holds (and never a word).
  const published = logger.entries.filter((e) => e.message === 'sealed result published');
  assert.deepEqual(
    published.map((e) => e.fields.contributions),
    [
      { c1: 3, c2: 1 },
      { c1: 3, c2: 1 },
    ],
  );
  for (const r of [c1, c2]) {
    assert.deepEqual(r.results[0]?.counts, { alice: 2 });
    assert.equal(r.results[0]?.withheldWords, 1);
    assert.equal(r.results[0]?.minCollaborators, 2);
    assert.equal(r.results[0]?.transparency?.entryIndex, 0);
    assert.match(r.results[0]?.transparency?.checkpoint ?? '', /^log\.example\/transparency\n1\n/);
    assert.deepEqual(
      { ...r.log[0], resultDigest: 'd' },
      { resultDigest: 'd', released: 1, withheld: 1, minCollaborators: 2, minCount: 1, policySource: 'token' },
    );
    assert.doesNotMatch(JSON.stringify(r.log), /carol|alice/, 'the log entry names no value');
  }
});

test('a collaborator whose transparency log cannot take the release gets no result; the others do', async () => {
  const tally = createTally();
  tally.add('c1', 'm1', 'alice');
  const [up, down] = [recipient('c1'), recipient('c2', { logDown: true })];
  await publisherFor(tally, { min_collaborators: 1, min_count: 1 }, [up, down]).publish();
  assert.equal(up.results.length, 1);
  assert.equal(down.results.length, 0);
});

test('the DP budget is sealed with the state and enforced across a workload restart', async () => {
  const kms = createFakeKms();
  const file = join(dir, 'state.json');
  const store = () => createSealedFileStateStore({ file, wrapper: kms.wrapperFor('state') });
  const policy: OutputPolicy = {
    min_collaborators: 1,
    min_count: 1,
    dp: { mechanism: 'laplace', epsilon: 1, delta: 0.01, budget_epsilon: 2, budget_delta: 0.02 },
  };
  const boot = async () => {
    const sealed = store();
    const tally = createTally(await sealed.load());
    const recipients = [recipient('c1'), recipient('c2')];
    return {
      tally,
      recipients,
      publisher: publisherFor(tally, policy, recipients, () => sealed.save(tally.snapshot())),
    };
  };
  const first = await boot();
  for (let i = 0; i < 30; i++) first.tally.add('c1', `a${i}`, 'alice');
  await first.publisher.publish();
  await first.publisher.publish(); // nothing new: the same release again, for free
  first.tally.add('c2', 'b1', 'alice');
  await first.publisher.publish();
  assert.equal(first.recipients[0]?.results.length, 3);
  assert.deepEqual(first.recipients[0]?.results[2]?.privacy?.spent, { epsilon: 2, delta: 0.02 });
  assert.equal(first.recipients[0]?.log[2]?.spentEpsilon, 2);
  // The workload restarts (the state it sealed is all it has) and more words arrive.
  const second = await boot();
  assert.equal(second.tally.snapshot().seen.length, 31);
  second.tally.add('c2', 'b2', 'alice');
  await second.publisher.publish();
  assert.deepEqual(
    second.recipients.map((r) => r.results.length),
    [0, 0],
    'the budget spent before the restart refuses a third release',
  );
});
