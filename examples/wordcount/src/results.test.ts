// Results: a minimum count withholds rare words; each collaborator's copy opens only under its own key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openResult, sealResult } from './results.ts';
import { createTally } from './tally.ts';
import { createFakeKms } from './test-support.ts';

describe('results', () => {
  it('withholds words counted fewer than minCount times, saying how many', () => {
    const tally = createTally();
    tally.add('c1', '1', 'alice');
    tally.add('c2', '2', 'alice');
    tally.add('c2', '3', 'bob');
    assert.deepEqual(tally.result(2), {
      minCount: 2,
      counts: { alice: 2 },
      withheldWords: 1,
      contributions: { c1: 1, c2: 2 },
    });
  });

  it('opens for its collaborator and not under another collaborator’s key or name', async () => {
    const kms = createFakeKms();
    const tally = createTally();
    tally.add('c1', '1', 'alice');
    const sealed = await sealResult(tally.result(1), 'c1', kms.wrapperFor('k1'));
    assert.deepEqual((await openResult(sealed, 'c1', kms.wrapperFor('k1'))).counts, { alice: 1 });
    await assert.rejects(openResult(sealed, 'c1', kms.wrapperFor('k2')), { code: 'ERR_WORDCOUNT_CLIENT' });
    await assert.rejects(openResult(sealed, 'c2', kms.wrapperFor('k1')), { code: 'ERR_WORDCOUNT_CLIENT' });
  });
});
