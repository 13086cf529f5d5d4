import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutputPolicy } from '@sealroom/core';
import { WorkloadError } from './errors.ts';
import { type PrivacyLedgerSnapshot, createPrivacyLedger, outputPolicyOfClaims, releaseResult } from './release.ts';
import { seededUniform } from './seeded-uniform.test-util.ts';

const result = {
  alice: { count: 2, collaborators: ['c1', 'c2'] },
  bob: { count: 5, collaborators: ['c1', 'c1', 'c1'] },
  carol: { count: 1, collaborators: ['c2'] },
  dave: { count: 1, collaborators: ['c1', 'c2'] },
};
const dp = { mechanism: 'laplace' as const, epsilon: 1, delta: 1e-3, budget_epsilon: 2, budget_delta: 1 };

test('k = 2 withholds every value fewer than two distinct collaborators sent, and min_count the rare ones (table)', async () => {
  const table: [OutputPolicy, Record<string, number>, number][] = [
    [{ min_collaborators: 1, min_count: 1 }, { alice: 2, bob: 5, carol: 1, dave: 1 }, 0],
    [{ min_collaborators: 2, min_count: 1 }, { alice: 2, dave: 1 }, 2],
    [{ min_collaborators: 2, min_count: 2 }, { alice: 2 }, 3],
    [{ min_collaborators: 3, min_count: 1 }, {}, 4],
  ];
  for (const [policy, values, withheld] of table) {
    const release = await releaseResult(result, policy, { collaborators: ['c1', 'c2'] });
    assert.deepEqual(release.values, values, JSON.stringify(policy));
    assert.equal(release.withheld, withheld);
    assert.equal(release.privacy, undefined);
  }
});

test('under DP a release is charged and sealed first, noise is added, and only noisy counts past the threshold leave', async () => {
  const big = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`w${i}`, { count: 100 + i, collaborators: ['c1', 'c2'] }]),
  );
  const events: string[] = [];
  const ledger = createPrivacyLedger();
  const release = await releaseResult(
    { ...big, lonely: { count: 1000, collaborators: ['c1'] }, rare: { count: 1, collaborators: ['c1', 'c2'] } },
    { min_collaborators: 2, min_count: 1, dp },
    {
      collaborators: ['c1', 'c2'],
      ledger,
      persist: async () => {
        events.push(`sealed ${JSON.stringify(ledger.snapshot().spent.c1)}`);
      },
      uniform: seededUniform(3),
    },
  );
  assert.deepEqual(events, ['sealed {"epsilon":"1/1","delta":"1/1000"}']);
  // ln(1/δ)/ε = 6.9: a value needs a noisy count of 8 to be released.
  assert.equal(release.privacy?.threshold, 8);
  assert.equal(release.values.lonely, undefined, 'one collaborator: withheld whatever its count');
  assert.equal(release.values.rare, undefined, 'a count of 1 is below the threshold but with probability δ');
  const released = Object.keys(release.values);
  assert.equal(released.length, 20);
  const differences = released.map((k) => (release.values[k] as number) - (big[k]?.count as number));
  assert.ok(
    differences.some((d) => d !== 0),
    'the counts carry noise',
  );
  assert.ok(differences.every((d) => Math.abs(d) < 30));
  assert.deepEqual(release.privacy?.spent.c2, { epsilon: 1, delta: 0.001 });
});

test('the budget is enforced across a restart: the ledger sealed after two releases refuses a third', async () => {
  const policy: OutputPolicy = { min_collaborators: 1, min_count: 1, dp };
  let sealed: PrivacyLedgerSnapshot | undefined;
  const run = async (ledger = createPrivacyLedger(sealed)) =>
    releaseResult(result, policy, {
      collaborators: ['c1', 'c2'],
      ledger,
      persist: async () => {
        sealed = JSON.parse(JSON.stringify(ledger.snapshot())) as PrivacyLedgerSnapshot;
      },
      uniform: seededUniform(5),
    });
  await run();
  // The workload restarts: a fresh ledger from the sealed snapshot, which says one release was spent.
  await run(createPrivacyLedger(sealed));
  assert.equal(sealed?.releases, 2);
  const before = JSON.stringify(sealed);
  await assert.rejects(
    run(createPrivacyLedger(sealed)),
    (e: unknown) => e instanceof WorkloadError && e.code === 'ERR_WORKLOAD_PRIVACY_BUDGET' && /c1/.test(e.message),
  );
  assert.equal(JSON.stringify(sealed), before, 'a refused release charges nothing');
  await assert.rejects(releaseResult(result, policy, { collaborators: ['c1'] }), {
    code: 'ERR_WORKLOAD_PRIVACY_BUDGET',
  });
});

test('budgets are summed exactly: ten releases of ε = 0.1 fit a budget of 1, the eleventh does not', () => {
  const ledger = createPrivacyLedger();
  const tenth = { ...dp, epsilon: 0.1, delta: 1e-9, budget_epsilon: 1, budget_delta: 1e-8 };
  for (let i = 0; i < 10; i++) ledger.charge(['c1'], tenth);
  assert.throws(() => ledger.charge(['c1'], tenth), { code: 'ERR_WORKLOAD_PRIVACY_BUDGET' });
  assert.deepEqual(ledger.snapshot().spent.c1, { epsilon: '1/1', delta: '1/100000000' });
});

test('the workload reads its own output policy from its token claims', () => {
  const policy = { min_collaborators: 2, min_count: 1 };
  assert.deepEqual(outputPolicyOfClaims({ submods: { sealroom: { output_policy: policy } } }), policy);
  assert.equal(outputPolicyOfClaims({ submods: {} }), undefined);
  assert.throws(() => outputPolicyOfClaims({ submods: { sealroom: { output_policy: { min_collaborators: 0 } } } }), {
    code: 'ERR_WORKLOAD_BAD_CONFIG',
  });
});
