import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  OUTPUT_POLICY_LABEL,
  formatOutputPolicy,
  outputPolicyClaims,
  outputPolicyDigest,
  parseOutputPolicy,
  parseOutputPolicyLabel,
} from './output-policy.ts';

const dp = { mechanism: 'laplace', epsilon: 0.5, delta: 1e-6, budget_epsilon: 5, budget_delta: 1e-5 };

test('output policies: what parses, with defaults, and what is refused with the field named (table)', () => {
  assert.deepEqual(parseOutputPolicy({ min_collaborators: 2 }), { min_collaborators: 2, min_count: 1 });
  assert.deepEqual(parseOutputPolicy({ min_collaborators: 2, min_count: 3, dp }), {
    min_collaborators: 2,
    min_count: 3,
    dp,
  });
  const refused: [unknown, RegExp][] = [
    [null, /expected a JSON object/],
    [{}, /min_collaborators must be an integer/],
    [{ min_collaborators: 0 }, /min_collaborators/],
    [{ min_collaborators: 1.5 }, /min_collaborators/],
    [{ min_collaborators: 2, extra: 1 }, /unknown field "extra"/],
    [{ min_collaborators: 2, min_count: 0 }, /min_count/],
    [{ min_collaborators: 2, dp: { ...dp, mechanism: 'exponential' } }, /dp\.mechanism/],
    [{ min_collaborators: 2, dp: { ...dp, epsilon: 0 } }, /dp\.epsilon/],
    [{ min_collaborators: 2, dp: { ...dp, delta: 0 } }, /dp\.delta/],
    [{ min_collaborators: 2, dp: { ...dp, budget_epsilon: 0.1 } }, /dp\.budget_epsilon must be at least dp\.epsilon/],
    [{ min_collaborators: 2, dp: { ...dp, budget_delta: 1 } }, /dp\.budget_delta/],
    [{ min_collaborators: 2, dp: { ...dp, sensitivity: 2 } }, /unknown field "dp\.sensitivity"/],
  ];
  for (const [input, message] of refused) {
    assert.throws(
      () => parseOutputPolicy(input),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
        assert.match(e.message, message);
        return true;
      },
    );
  }
  assert.throws(() => parseOutputPolicyLabel('{not json'), /not JSON/);
});

test('equal policies have one canonical label and digest, whatever the field order', () => {
  const a = parseOutputPolicyLabel('{"min_count":2,"min_collaborators":3}');
  const b = parseOutputPolicyLabel('{"min_collaborators":3,"min_count":2}');
  assert.equal(formatOutputPolicy(a), formatOutputPolicy(b));
  assert.equal(outputPolicyDigest(a), outputPolicyDigest(b));
  assert.match(outputPolicyDigest(a), /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(outputPolicyClaims({ [OUTPUT_POLICY_LABEL]: formatOutputPolicy(a) }), {
    output_policy: a,
    output_policy_digest: outputPolicyDigest(a),
  });
  assert.equal(outputPolicyClaims({ other: 'x' }), undefined);
});
