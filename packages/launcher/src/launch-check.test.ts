// Runs every case of ../shared/contracts/launch-policy-cases.json (read at test time) against the launcher's checks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { exitCodeFor, outcomeOfWorkloadExit } from './exit-code.ts';
import { checkLaunch } from './launch-check.ts';
import type { RestartPolicy } from './launch-spec.ts';

interface PolicyCase {
  name: string;
  image: 'hardened' | 'debug';
  labels: Record<string, string>;
  metadata: Record<string, string>;
  expect: { outcome: 'runs' | 'refused'; exitCode?: number; messageContains?: string };
}
interface ExitCase {
  image: 'hardened' | 'debug';
  restartPolicy: RestartPolicy;
  workloadExit: number;
  launcherExit: number;
}
const cases = JSON.parse(readFileSync(join(resolveSharedDir(), 'contracts', 'launch-policy-cases.json'), 'utf8')) as {
  launchPolicyCases: PolicyCase[];
  exitCodeCases: ExitCase[];
};

describe('the launch-policy cases of the shared contract', () => {
  test('the contract file has the cases it promises', () => {
    assert.ok(cases.launchPolicyCases.length >= 30);
    assert.ok(cases.exitCodeCases.length >= 8);
  });
  for (const c of cases.launchPolicyCases) {
    test(`${c.name}: ${c.expect.outcome}${c.expect.exitCode === undefined ? '' : ` with exit ${c.expect.exitCode}`}`, () => {
      const result = checkLaunch({ metadata: c.metadata, labels: c.labels, hardened: c.image === 'hardened' });
      if (c.expect.outcome === 'runs') {
        assert.equal(result.outcome, 'runs', result.outcome === 'refused' ? result.error.message : '');
        return;
      }
      assert.equal(result.outcome, 'refused');
      if (result.outcome !== 'refused') return;
      assert.equal(result.exitCode, c.expect.exitCode, result.error.message);
      if (c.expect.messageContains)
        assert.ok(result.error.message.includes(c.expect.messageContains), result.error.message);
    });
  }
});

describe('the exit-code cases of the shared contract', () => {
  for (const c of cases.exitCodeCases) {
    test(`${c.image} image, ${c.restartPolicy}, workload exits ${c.workloadExit}: launcher exits ${c.launcherExit}`, () => {
      const code = exitCodeFor({
        hardened: c.image === 'hardened',
        restartPolicy: c.restartPolicy,
        outcome: outcomeOfWorkloadExit(c.workloadExit),
      });
      assert.equal(code, c.launcherExit);
    });
  }
});

describe('exit codes of failures before the workload runs', () => {
  const table: [string, boolean, RestartPolicy, Parameters<typeof exitCodeFor>[0]['outcome'], number][] = [
    ['metadata error on a debug image still exits 1', false, 'Always', 'metadata', 1],
    ['fatal error on hardened with Always exits 1', true, 'Always', 'fatal', 1],
    ['runtime start failure on hardened with OnFailure reboots', true, 'OnFailure', 'retryable', 3],
    ['runtime start failure on hardened with Never exits 1', true, 'Never', 'retryable', 1],
    ['any failure on debug holds', false, 'Never', 'fatal', 4],
  ];
  for (const [name, hardened, restartPolicy, outcome, expected] of table) {
    test(name, () => assert.equal(exitCodeFor({ hardened, restartPolicy, outcome }), expected));
  }
});
