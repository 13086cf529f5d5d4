// The container process and its COS events: order and content as the verifier's parser reads them back.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CEL_TYPE,
  COS_PCR,
  COS_TYPE,
  celRecordFor,
  decodeCel,
  encodeCel,
  encodeCosContent,
  parseCosState,
} from '@sealroom/attest';
import { DEFAULT_PATH_ENV, buildContainerProcess, resolveImageUser } from './container-process.ts';
import { LauncherError } from './errors.ts';
import { parseLaunchSpec } from './launch-spec.ts';
import { cosEventsFor, measureLaunch } from './measure.ts';

const REF = 'localhost:8080/p/repo/img@sha256:' + 'a'.repeat(64);
const spec = (metadata: Record<string, string> = {}) =>
  parseLaunchSpec({ 'tee-image-reference': REF, ...metadata }, { hardened: true });
const image = { Entrypoint: ['/app'], Cmd: ['--default'], Env: ['PATH=/bin', 'MODE=prod'], WorkingDir: '/srv' };

test('tee-cmd replaces CMD and keeps ENTRYPOINT; overrides replace image env in place; HOSTNAME comes last', () => {
  const p = buildContainerProcess(
    image,
    spec({ 'tee-cmd': '["--x"]', 'tee-env-MODE': 'dev', 'tee-env-NEW': '1' }),
    'vm1',
  );
  assert.deepEqual(p.args, ['/app', '--x']);
  assert.deepEqual(p.env, ['PATH=/bin', 'MODE=dev', 'NEW=1', 'HOSTNAME=vm1']);
  assert.equal(p.cwd, '/srv');
});

test('an image without env gets the default PATH, and without WorkingDir runs in /', () => {
  const p = buildContainerProcess({ Cmd: ['/x'] }, spec(), 'vm1');
  assert.deepEqual(p.env, [DEFAULT_PATH_ENV, 'HOSTNAME=vm1']);
  assert.equal(p.cwd, '/');
});

test('tee-cmd on an image without ENTRYPOINT is refused', () => {
  assert.throws(
    () => buildContainerProcess({ Cmd: ['/x'] }, spec({ 'tee-cmd': '["/y"]' }), 'vm1'),
    (e: unknown) => e instanceof LauncherError && e.code === 'ERR_LAUNCHER_IMAGE_INVALID',
  );
  assert.throws(() => buildContainerProcess({}, spec(), 'vm1'), /ENTRYPOINT/);
});

test('exposed ports default to tcp', () => {
  const p = buildContainerProcess(
    { ...image, ExposedPorts: { '8080/tcp': {}, '53/udp': {}, '9000': {} } },
    spec(),
    'h',
  );
  assert.deepEqual(p.exposedPorts, ['53/udp', '8080/tcp', '9000/tcp']);
});

test('image users resolve by number or by name from the rootfs', async () => {
  const rootfs = mkdtempSync(join(tmpdir(), 'sr-user-'));
  try {
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0::/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n',
    );
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\n');
    assert.deepEqual(await resolveImageUser('', rootfs), { uid: 0, gid: 0 });
    assert.deepEqual(await resolveImageUser('nonroot', rootfs), { uid: 65532, gid: 65532 });
    assert.deepEqual(await resolveImageUser('1000:50', rootfs), { uid: 1000, gid: 50 });
    assert.deepEqual(await resolveImageUser('nonroot:staff', rootfs), { uid: 65532, gid: 50 });
    await assert.rejects(resolveImageUser('ghost', rootfs), /not in the image/);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
});

test('the measured events parse back, with the verifier rules, into the launch that was asked for', async () => {
  const s = spec({
    'tee-cmd': '["--x","y"]',
    'tee-env-MODE': 'dev',
    'tee-restart-policy': 'OnFailure',
    'tee-monitoring-memory-enable': 'true',
  });
  const p = buildContainerProcess(image, s, 'vm1');
  const identity = { reference: REF, digest: `sha256:${'a'.repeat(64)}`, configDigest: `sha256:${'c'.repeat(64)}` };
  const contents: Uint8Array[] = [];
  await measureLaunch({ measureEvent: async (c) => void contents.push(c) }, cosEventsFor(identity, s, p));
  const records = contents.map((c, i) => celRecordFor(BigInt(i), CEL_TYPE.PCR, COS_PCR, c, [0x0b]));
  const state = parseCosState(decodeCel(encodeCel(records)), 'tpm');
  assert.equal(state.container.imageReference, REF);
  assert.equal(state.container.imageDigest, identity.digest);
  assert.equal(state.container.imageId, identity.configDigest);
  assert.equal(state.container.restartPolicy, 'OnFailure');
  assert.deepEqual(state.container.args, ['/app', '--x', 'y']);
  assert.deepEqual(state.container.envVars, { PATH: '/bin', MODE: 'dev', HOSTNAME: 'vm1' });
  assert.deepEqual(state.container.overriddenArgs, ['--x', 'y']);
  assert.deepEqual(state.container.overriddenEnvVars, { MODE: 'dev' });
  assert.equal(state.memoryMonitoring, true);
  assert.equal(state.separatorSeen, true);
  assert.deepEqual(Buffer.from(contents.at(-1)!), encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, new Uint8Array(0)));
});

test('the separator is last and overrides come after the image env, in Google order', () => {
  const s = spec({ 'tee-cmd': '["--x"]', 'tee-env-MODE': 'dev' });
  const types = cosEventsFor({ reference: REF, digest: 'sha256:d' }, s, buildContainerProcess(image, s, 'h')).map(
    (e) => e.type,
  );
  assert.deepEqual(types, [0, 1, 2, 4, 4, 5, 5, 5, 7, 6, 9, 8]);
});
