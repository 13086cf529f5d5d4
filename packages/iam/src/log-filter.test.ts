import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LogFilterEntry, matchesLogFilter, parseLogFilter } from './log-filter.ts';

const KEY = 'projects/p/locations/global/keyRings/kr/cryptoKeys/key1';
const entry = (methodName: string, resourceName: string, principal = 'user:a@example.com'): LogFilterEntry => ({
  logName: 'projects/1/logs/cloudaudit.googleapis.com%2Factivity',
  protoPayload: { methodName, resourceName, authenticationInfo: { principalSubject: principal } },
});

test('log filters match by method, resource and principal, with = exact and : contains, OR before AND', () => {
  const decrypt = entry('google.cloud.kms.v1.KeyManagementService.Decrypt', KEY, 'principal://iam/x/subject/vm1');
  const encrypt = entry('google.cloud.kms.v1.KeyManagementService.Encrypt', KEY);
  const other = entry('google.cloud.kms.v1.KeyManagementService.Decrypt', `${KEY}2`);
  const table: [string, [boolean, boolean, boolean]][] = [
    [`protoPayload.resourceName="${KEY}"`, [true, true, false]],
    [`protoPayload.resourceName:"${KEY}"`, [true, true, true]],
    [`protoPayload.resourceName="${KEY}" AND protoPayload.methodName:"Decrypt"`, [true, false, false]],
    [
      `protoPayload.methodName:"Encrypt" OR protoPayload.methodName:"Decrypt" AND protoPayload.resourceName="${KEY}"`,
      [true, true, false],
    ],
    ['protoPayload.authenticationInfo.principalSubject:"subject/vm1"', [true, false, false]],
    ['protoPayload.methodName="Decrypt"', [false, false, false]],
  ];
  for (const [text, expected] of table) {
    const filter = parseLogFilter(text);
    assert.deepEqual(
      [decrypt, encrypt, other].map((e) => matchesLogFilter(filter, e)),
      expected,
      text,
    );
  }
});

test('log filters keep a pure logName group for the index, and refuse what they do not understand', () => {
  assert.deepEqual(parseLogFilter('logName="projects/p/logs/a" OR logName="projects/p/logs/b"'), {
    logNames: ['projects/p/logs/a', 'projects/p/logs/b'],
    groups: [],
  });
  assert.deepEqual(parseLogFilter('  '), { groups: [] });
  for (const bad of [
    'severity="ERROR"',
    'protoPayload.methodName=Decrypt',
    'protoPayload.methodName="a" XOR protoPayload.methodName="b"',
    'logName:"projects/p"',
    'logName="projects/p/logs/a" AND protoPayload.methodName="x"',
    Array.from({ length: 40 }, () => 'protoPayload.methodName="x"').join(' OR '),
  ]) {
    assert.throws(() => parseLogFilter(bad), /Supported filters/, bad);
  }
});
