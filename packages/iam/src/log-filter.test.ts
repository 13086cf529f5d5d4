import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LogFilterEntry, matchesLogFilter, parseLogFilter } from './log-filter.ts';

const KEY = 'projects/p/locations/global/keyRings/kr/cryptoKeys/key1';
const AUDIT = 'projects/1/logs/cloudaudit.googleapis.com%2Factivity';
const entry = (
  methodName: string,
  resourceName: string,
  principal = 'user:a@example.com',
  extra: Record<string, unknown> = {},
): LogFilterEntry => ({
  logName: AUDIT,
  timestamp: '2026-01-02T03:04:05.000Z',
  severity: 'NOTICE',
  protoPayload: { methodName, resourceName, authenticationInfo: { principalSubject: principal } },
  ...extra,
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
    ['protoPayload.methodName:decrypt', [true, false, true]],
    [`NOT protoPayload.resourceName="${KEY}"`, [false, false, true]],
    [`-protoPayload.methodName:Encrypt protoPayload.resourceName="${KEY}"`, [true, false, false]],
    [
      `(protoPayload.methodName:Encrypt AND protoPayload.resourceName="${KEY}") OR protoPayload.resourceName="${KEY}2"`,
      [false, true, true],
    ],
    ['protoPayload.methodName!="google.cloud.kms.v1.KeyManagementService.Encrypt"', [true, false, true]],
    ['protoPayload.authenticationInfo:*', [true, true, true]],
    ['jsonPayload:*', [false, false, false]],
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

test('timestamps and severities compare by their order, as gcloud logging read sends them', () => {
  const e = entry('m', 'r');
  const table: [string, boolean][] = [
    ['timestamp>="2026-01-01T00:00:00Z"', true],
    ['timestamp>="2026-01-02T03:04:05.000001Z"', false],
    ['timestamp<"2026-01-03T00:00:00+01:00" AND timestamp>"2026-01-02T00:00:00Z"', true],
    ['severity>=NOTICE', true],
    ['severity>WARNING', false],
    ['severity=notice', true],
    ['severity<=300', true],
    [`timestamp>="2025-12-01T04:42:28.683928Z" AND logName="${AUDIT}"`, true],
    ['labels.instance=vm1', false],
  ];
  for (const [text, expected] of table) assert.equal(matchesLogFilter(parseLogFilter(text), e), expected, text);
  const labelled = entry('m', 'r', 'p', { labels: { instance: 'vm1' }, jsonPayload: { counts: [1, 2] } });
  assert.equal(matchesLogFilter(parseLogFilter('labels.instance=vm1 AND jsonPayload.counts=2'), labelled), true);
  assert.equal(matchesLogFilter(parseLogFilter('jsonPayload.counts>=3'), labelled), false);
});

test('log filters name the log names the index can answer, and refuse what they do not understand', () => {
  const names = parseLogFilter('logName="projects/p/logs/a" OR logName="projects/p/logs/b"');
  assert.deepEqual(names.logNames, ['projects/p/logs/a', 'projects/p/logs/b']);
  assert.equal(names.indexOnly, true);
  const mixed = parseLogFilter('timestamp>="2026-01-01T00:00:00Z" AND logName="projects/p/logs/a"');
  assert.deepEqual(mixed.logNames, ['projects/p/logs/a']);
  assert.equal(mixed.indexOnly, false);
  assert.equal(parseLogFilter('NOT logName="projects/p/logs/a"').logNames, undefined);
  assert.equal(parseLogFilter('  ').indexOnly, true);
  assert.equal(matchesLogFilter(parseLogFilter(''), entry('m', 'r')), true);
  for (const bad of [
    'decrypt',
    'protoPayload.methodName=~"De.*"',
    Array.from({ length: 70 }, () => 'protoPayload.methodName="x"').join(' OR '),
    `${'('.repeat(40)}a=b${')'.repeat(40)}`,
  ]) {
    assert.throws(() => parseLogFilter(bad), /Unsupported filter/, bad);
  }
  for (const bad of ['a="x', 'a=', '(a=b', 'a=b)', 'timestamp>="yesterday"', 'severity>=LOUD']) {
    assert.throws(() => parseLogFilter(bad), /Invalid filter/, bad);
  }
});
