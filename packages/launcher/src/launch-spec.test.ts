// Parsing instance metadata into a LaunchSpec: defaults, each key's syntax, and the errors that name the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLaunchSpec } from './launch-spec.ts';
import { LauncherError } from './errors.ts';

const REF = 'localhost:8080/p/repo/img@sha256:' + 'a'.repeat(64);
const parse = (metadata: Record<string, string>, hardened = true, memFreeKb?: number) =>
  parseLaunchSpec(
    { 'tee-image-reference': REF, ...metadata },
    memFreeKb === undefined ? { hardened } : { hardened, memFreeKb },
  );

test('defaults: Never, no overrides, no redirect, no monitoring, empty lists not undefined', () => {
  const spec = parse({});
  assert.equal(spec.restartPolicy, 'Never');
  assert.deepEqual(spec.cmdOverride, []);
  assert.deepEqual(spec.envOverrides, []);
  assert.equal(spec.logRedirect, 'false');
  assert.equal(spec.monitoring, 'none');
  assert.equal(spec.devShmSizeKb, 0);
  assert.deepEqual(spec.mounts, []);
  assert.equal(spec.hardened, true);
});

test('keys that are not tee-* are ignored (ssh-keys, startup-script, gca-service-env)', () => {
  assert.doesNotThrow(() => parse({ 'ssh-keys': 'x', 'gca-service-env': 'prod' }));
});

test('env overrides keep metadata order and accept = inside values', () => {
  const spec = parse({ 'tee-env-B': 'x=y', 'tee-env-A': '' });
  assert.deepEqual(spec.envOverrides, [
    { name: 'B', value: 'x=y' },
    { name: 'A', value: '' },
  ]);
});

test('an empty env name is an error', () => {
  assert.throws(() => parse({ 'tee-env-': 'x' }), /tee-env-/);
});

test('the documentation spellings tee-dev-shm-size and tee-memory-monitoring-enable are read as the real keys', () => {
  assert.equal(parse({ 'tee-memory-monitoring-enable': 'true' }).monitoring, 'memoryonly');
  assert.equal(parse({ 'tee-dev-shm-size': '10' }).devShmSizeKb, 10);
  assert.deepEqual(parse({ 'tee-dev-shm-size': '10' }).warnings, []);
  assert.throws(
    () => parse({ 'tee-dev-shm-size': '10', 'tee-dev-shm-size-kb': '20' }),
    /tee-dev-shm-size-kb and tee-dev-shm-size cannot both be set/,
  );
  assert.throws(
    () => parse({ 'tee-memory-monitoring-enable': 'true', 'tee-monitoring-enable': 'all' }),
    /cannot both be set/,
  );
});

test('a near miss of a real key is refused: a typo must not pass silently', () => {
  assert.throws(() => parse({ 'tee-restart-polcy': 'Always' }), /did you mean tee-restart-policy\?/);
  assert.throws(() => parse({ 'tee-monitoring-memory-enabled': 'true' }), /tee-monitoring-memory-enable/);
});

test('any other unknown tee-* key is refused too (CONTRACTS: an error, not ignored), naming the key', () => {
  assert.throws(
    () => parse({ 'tee-no-such-key': 'x' }),
    (error: unknown) =>
      error instanceof LauncherError &&
      error.code === 'ERR_LAUNCHER_METADATA_INVALID' &&
      error.message === 'unknown metadata key tee-no-such-key: not a launcher key',
  );
  assert.throws(
    () => parse({ 'tee-attestation-service-endpoint': 'https://a' }),
    /tee-attestation-service-endpoint: not a launcher key \(did you mean the server URL of the instance \(gca-service-env in Google Cloud\)\?\)/,
  );
  // Keys without the prefix are not the launcher's: still ignored, with nothing to say.
  assert.deepEqual(parse({ 'other-key': 'y', 'gca-service-env': 'prod' }).warnings, []);
});

test('booleans follow Go ParseBool: T and 1 are true, yes is an error', () => {
  assert.equal(parse({ 'tee-monitoring-memory-enable': 'T' }).monitoring, 'memoryonly');
  assert.equal(parse({ 'tee-monitoring-memory-enable': '0' }).monitoring, 'none');
  assert.equal(parse({ 'tee-monitoring-memory-enable': '' }).monitoring, 'none');
  assert.throws(() => parse({ 'tee-monitoring-memory-enable': 'yes' }), /tee-monitoring-memory-enable/);
});

test('tee-monitoring-enable is case-insensitive and rejects memory_only', () => {
  assert.equal(parse({ 'tee-monitoring-enable': 'MemoryOnly' }).monitoring, 'memoryonly');
  assert.equal(parse({ 'tee-monitoring-enable': '' }).monitoring, 'none');
  assert.throws(() => parse({ 'tee-monitoring-enable': 'memory_only' }), /tee-monitoring-enable/);
});

test('tee-cgroup-ns with an empty value is an error', () => {
  assert.throws(() => parse({ 'tee-cgroup-ns': '' }), /tee-cgroup-ns/);
  assert.equal(parse({ 'tee-cgroup-ns': 'true' }).cgroupNamespace, true);
});

test('tee-dev-shm-size-kb is an unsigned decimal no larger than the free memory', () => {
  assert.equal(parse({ 'tee-dev-shm-size-kb': '1024' }).devShmSizeKb, 1024);
  assert.throws(() => parse({ 'tee-dev-shm-size-kb': '-1' }), /tee-dev-shm-size-kb/);
  assert.throws(() => parse({ 'tee-dev-shm-size-kb': '2048' }, true, 1000), /free memory/);
});

test('tee-mount: several tmpfs mounts, relative destinations joined to /, sizes in bytes', () => {
  const spec = parse({
    'tee-mount': 'type=tmpfs,source=tmpfs,destination=/a/b/,size=4096;type=tmpfs,source=tmpfs,destination=c',
  });
  assert.deepEqual(spec.mounts, [{ destination: '/a/b', sizeBytes: 4096 }, { destination: '/c' }]);
});

test('tee-mount refuses unknown options, non-tmpfs sources and a missing destination', () => {
  assert.throws(() => parse({ 'tee-mount': 'type=tmpfs,source=tmpfs,destination=/a,mode=1777' }), /mode/);
  assert.throws(() => parse({ 'tee-mount': 'type=tmpfs,source=/,destination=/a' }), /tmpfs/);
  assert.throws(() => parse({ 'tee-mount': 'type=tmpfs,source=tmpfs' }), /destination/);
  assert.throws(
    () => parse({ 'tee-mount': 'type=tmpfs,source=tmpfs,destination=/a,size=2097152' }, true, 1024),
    /free/,
  );
});

test('comma lists are split without trimming and drop empty items', () => {
  const spec = parse({ 'tee-signed-image-repos': 'a/b, c/d,', 'tee-impersonate-service-accounts': 'x@p.iam' });
  assert.deepEqual(spec.signedImageRepos, ['a/b', ' c/d']);
  assert.deepEqual(spec.impersonateServiceAccounts, ['x@p.iam']);
});

test('tee-cmd must be a JSON array of strings', () => {
  assert.deepEqual(parse({ 'tee-cmd': '["--x","1"]' }).cmdOverride, ['--x', '1']);
  assert.throws(() => parse({ 'tee-cmd': '["a",1]' }), /tee-cmd/);
  assert.throws(() => parse({ 'tee-cmd': '{"a":1}' }), /tee-cmd/);
});

test('tee-added-capabilities must be a JSON array of capability names', () => {
  assert.deepEqual(parse({ 'tee-added-capabilities': '["CAP_SYS_ADMIN"]' }).addedCapabilities, ['CAP_SYS_ADMIN']);
  assert.throws(() => parse({ 'tee-added-capabilities': '["sys_admin"]' }), /tee-added-capabilities/);
});

test('a GPU driver install is refused, since instances have no GPU', () => {
  assert.throws(() => parse({ 'tee-install-gpu-driver': 'true' }), /GPU/);
  assert.doesNotThrow(() => parse({ 'tee-install-gpu-driver': 'maybe' }));
});
