import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIamConditionEvaluator } from './iam-conditions.ts';

test('IAM conditions grant only when they evaluate to true, and fail closed otherwise', () => {
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
  for (const [expression, expected] of table) assert.equal(evaluate(expression, facts), expected, expression);
});
