// IAM conditions are compiled and cost-checked when their policy is set, alone and all together.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { checkIamConditions, compileIamCondition } from './iam-condition.ts';
import { CEL_COST_LIMITS } from './limits.ts';

const DIGITS = '[0,1,2,3,4,5,6,7,8,9]';
const NESTED = `${DIGITS}.all(a,${DIGITS}.all(b,${DIGITS}.all(c,${DIGITS}.all(d,${DIGITS}.all(e,${DIGITS}.all(f,a+b+c+d+e+f>=0))))))`;

it('admits the usual conditions at a small estimated cost', () => {
  for (const expression of [
    'request.time < timestamp("2027-01-01T00:00:00Z")',
    'resource.name.startsWith("projects/123/locations/global/keyRings/kr/")',
    'resource.type == "cloudkms.googleapis.com/CryptoKey" && resource.service == "cloudkms.googleapis.com"',
  ]) {
    assert.ok(compileIamCondition(expression).estimate.cost < 5_000, expression);
  }
});

it('refuses a condition that does not compile, or whose estimate is above the limit', () => {
  assert.throws(() => checkIamConditions(['request.time <']), { code: 'ERR_CEL_SYNTAX' });
  assert.throws(() => checkIamConditions(['true', NESTED]), {
    code: 'ERR_CEL_COST_ESTIMATE',
    message: /^condition has an estimated worst-case cost of \d+, above the limit of 1000000$/,
  });
});

it('refuses conditions that are each admitted but too costly together', () => {
  const each = `${DIGITS}.all(a, ${DIGITS}.all(b, resource.name.size() > a + b))`;
  const cost = compileIamCondition(each).estimate.cost;
  assert.ok(cost < CEL_COST_LIMITS.estimated);
  const count = Math.floor(CEL_COST_LIMITS.estimated / cost) + 1;
  assert.throws(() => checkIamConditions(Array.from({ length: count }, () => each)), {
    code: 'ERR_CEL_COST_ESTIMATE',
    message: /^the policy's conditions together have an estimated worst-case cost of \d+, above the limit of 1000000$/,
  });
});
