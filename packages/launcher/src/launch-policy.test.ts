// Launch-policy label parsing and the checks verifyLaunchPolicy adds beyond the shared contract's table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLaunchPolicy, verifyLaunchPolicy } from './launch-policy.ts';
import { parseLaunchSpec } from './launch-spec.ts';
import { decideLogRedirect, isMemoryMonitoringMeasured } from './log-redirect.ts';

const REF = 'r/p/i@sha256:' + 'a'.repeat(64);
const spec = (metadata: Record<string, string>, hardened = true) =>
  parseLaunchSpec({ 'tee-image-reference': REF, ...metadata }, { hardened });

test('labels default to a closed policy: no overrides, debugonly, none on hardened, memoryonly on debug', () => {
  assert.deepEqual(parseLaunchPolicy({ 'unrelated.label': 'x' }), {
    allowEnvOverride: [],
    allowCmdOverride: false,
    logRedirect: 'debugonly',
    hardenedMonitoring: 'none',
    debugMonitoring: 'memoryonly',
    allowMountDestinations: [],
    allowCapabilities: false,
    allowCgroups: false,
  });
});

test('allow_env_override is split on commas without trimming', () => {
  const policy = parseLaunchPolicy({ 'tee.launch_policy.allow_env_override': 'A, B,,C' });
  assert.deepEqual(policy.allowEnvOverride, ['A', ' B', 'C']);
  assert.ok(verifyLaunchPolicy(policy, spec({ 'tee-env-B': '1' })));
  assert.equal(verifyLaunchPolicy(policy, spec({ 'tee-env-C': '1' })), undefined);
});

test('log_redirect is trimmed and lower-cased; anything else is an author error', () => {
  assert.equal(parseLaunchPolicy({ 'tee.launch_policy.log_redirect': ' Always ' }).logRedirect, 'always');
  assert.throws(() => parseLaunchPolicy({ 'tee.launch_policy.log_redirect': 'sometimes' }), /contact the image author/);
});

test('the legacy monitoring_memory_allow maps onto both image families', () => {
  const debugOnly = parseLaunchPolicy({ 'tee.launch_policy.monitoring_memory_allow': 'debugonly' });
  assert.equal(debugOnly.hardenedMonitoring, 'none');
  assert.equal(debugOnly.debugMonitoring, 'memoryonly');
  const always = parseLaunchPolicy({ 'tee.launch_policy.monitoring_memory_allow': 'always' });
  assert.equal(always.hardenedMonitoring, 'memoryonly');
});

test('mount destinations are cleaned and match at or under, never beside', () => {
  const policy = parseLaunchPolicy({ 'tee.launch_policy.allow_mount_destinations': '/var/tmp/:/data' });
  const mount = (dest: string) => spec({ 'tee-mount': `type=tmpfs,source=tmpfs,destination=${dest}` });
  assert.equal(verifyLaunchPolicy(policy, mount('/var/tmp')), undefined);
  assert.equal(verifyLaunchPolicy(policy, mount('/data/x/y')), undefined);
  assert.match(verifyLaunchPolicy(policy, mount('/var/tmpx'))?.message ?? '', /\/var\/tmpx/);
  assert.match(verifyLaunchPolicy(policy, mount('/datastore'))?.message ?? '', /\/datastore/);
});

test('every refused mount is reported, not only the first', () => {
  const policy = parseLaunchPolicy({ 'tee.launch_policy.allow_mount_destinations': '/ok' });
  const both = spec({
    'tee-mount': 'type=tmpfs,source=tmpfs,destination=/a;type=tmpfs,source=tmpfs,destination=/b',
  });
  const message = verifyLaunchPolicy(policy, both)?.message ?? '';
  assert.match(message, /\/a .*; .*\/b/);
});

test('violations come in Google order: env before cmd before log redirect', () => {
  const policy = parseLaunchPolicy({});
  const all = spec({ 'tee-env-X': '1', 'tee-cmd': '["a"]', 'tee-container-log-redirect': 'true' });
  assert.match(verifyLaunchPolicy(policy, all)?.message ?? '', /env var/);
  const cmdAndLog = spec({ 'tee-cmd': '["a"]', 'tee-container-log-redirect': 'true' });
  assert.match(verifyLaunchPolicy(policy, cmdAndLog)?.message ?? '', /CMD/);
});

test('capabilities and cgroup namespaces need their labels', () => {
  const closed = parseLaunchPolicy({});
  const open = parseLaunchPolicy({
    'tee.launch_policy.allow_capabilities': 'true',
    'tee.launch_policy.allow_cgroups': '1',
  });
  const caps = spec({ 'tee-added-capabilities': '["CAP_NET_ADMIN"]' });
  const cgroup = spec({ 'tee-cgroup-ns': 'true' });
  assert.match(verifyLaunchPolicy(closed, caps)?.message ?? '', /capabilities/);
  assert.match(verifyLaunchPolicy(closed, cgroup)?.message ?? '', /cgroup/);
  assert.equal(verifyLaunchPolicy(open, caps), undefined);
  assert.equal(verifyLaunchPolicy(open, cgroup), undefined);
});

test('log destinations: redirect value × policy × image family', () => {
  const table: [string, string, boolean, { serial: boolean; cloudLogging: boolean }][] = [
    ['true', 'always', true, { serial: true, cloudLogging: true }],
    ['serial', 'always', true, { serial: true, cloudLogging: false }],
    ['cloud_logging', 'debugonly', false, { serial: false, cloudLogging: true }],
    ['true', 'debugonly', true, { serial: false, cloudLogging: false }],
    ['true', 'never', false, { serial: false, cloudLogging: false }],
    ['false', 'always', false, { serial: false, cloudLogging: false }],
  ];
  for (const [redirect, policyValue, hardened, expected] of table) {
    const policy = parseLaunchPolicy({ 'tee.launch_policy.log_redirect': policyValue });
    const result = decideLogRedirect(spec({ 'tee-container-log-redirect': redirect }, hardened), policy);
    assert.deepEqual(result, expected, `${redirect} × ${policyValue} × ${hardened ? 'hardened' : 'debug'}`);
  }
});

test('the memory flag is measured only for memoryonly, not for all', () => {
  assert.equal(isMemoryMonitoringMeasured(spec({ 'tee-monitoring-enable': 'memoryonly' })), true);
  assert.equal(isMemoryMonitoringMeasured(spec({ 'tee-monitoring-enable': 'all' })), false);
  assert.equal(isMemoryMonitoringMeasured(spec({})), false);
});
