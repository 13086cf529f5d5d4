// IAM condition evaluation: fail closed on anything but true, within the CEL cost limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IAM_CONDITION_LIMITS } from '@sealroom/cel';
import { createMemoryLogger } from '@sealroom/core';
import { createIamConditionEvaluator } from './iam-conditions.ts';

test('IAM conditions grant only when they evaluate to true, and fail closed otherwise', async () => {
  const evaluate = createIamConditionEvaluator();
  const facts = { resource: 'projects/123/locations/global/keyRings/kr/cryptoKeys/k', nowMs: Date.UTC(2026, 10, 1) };
  const table: [string, boolean][] = [
    ['request.time < timestamp("2027-01-01T00:00:00Z")', true],
    ['request.time < timestamp("2026-01-01T00:00:00Z")', false],
    ['resource.name.startsWith("projects/123/locations/global/keyRings/kr/")', true],
    ['resource.type == "cloudkms.googleapis.com/CryptoKey" && resource.service == "cloudkms.googleapis.com"', true],
    ['resource.name.endsWith("/other")', false],
    ['request.nothing == 1', false],
    ['this is not CEL', false],
    ['"a string"', false],
  ];
  for (const [expression, expected] of table) assert.equal(await evaluate(expression, facts), expected, expression);
});

test('an IAM condition stored before the cost estimate existed is cut off at the runtime limit, denies, and is logged', async () => {
  const logger = createMemoryLogger();
  const evaluate = createIamConditionEvaluator({ logger });
  const digits = '[0,1,2,3,4,5,6,7,8,9]';
  const nested = `${digits}.all(a,${digits}.all(b,${digits}.all(c,${digits}.all(d,${digits}.all(e,${digits}.all(f,a+b+c+d+e+f>=0))))))`;
  const resource = 'projects/123/locations/global/keyRings/kr/cryptoKeys/k';
  assert.equal(await evaluate(nested, { resource, nowMs: Date.UTC(2026, 10, 1) }), false);
  assert.deepEqual(
    logger.entries.map((e) => [e.level, e.fields.code, e.fields.resource]),
    [['warn', 'ERR_CEL_COST_LIMIT', resource]],
  );
});

test('IAM conditions grant nothing on a resource name longer than the cost estimate assumes', async () => {
  const evaluate = createIamConditionEvaluator();
  const resource = `projects/123/topics/${'t'.repeat(IAM_CONDITION_LIMITS.resourceNameMaxChars)}`;
  assert.equal(await evaluate('true', { resource, nowMs: 0 }), false);
  assert.equal(await evaluate('true', { resource: 'projects/123/topics/t', nowMs: 0 }), true);
});
