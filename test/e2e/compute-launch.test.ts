// Instances end to end: build an image, push it, create instances with the operator's command line; the workload
// reads its token and prints claims that match the launch; restart policies, debug hold, debug exec.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CliTestBed } from '@sealroom/cli/testing';

import {
  claimLines,
  instancesCreateLine,
  isolationMissing,
  type Json,
  SA,
  type SignedImage,
  startClaimsLaunchBed,
  waitFor,
  ZONE,
} from '../support/launch.ts';

let bed: CliTestBed | undefined;
let imageRef: string;
let digest: string;
let signatureRepo: string;
let keyId: string;

const cli = (...argv: string[]) => (bed as CliTestBed).cli(...argv);
const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);
const describeVm = async (name: string): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
const serial = (name: string) => ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);
/** The seed's `gcloud compute instances create` line, as `sealroom`, with this test's metadata. */
const createLine = (name: string, metadata: string, family?: string): string[] =>
  instancesCreateLine(name, imageRef, metadata, family);

before(async () => {
  if (isolationMissing()) return;
  let image: SignedImage;
  ({ bed, image } = await startClaimsLaunchBed('e2e-compute'));
  ({ imageRef, digest, signatureRepo, keyId } = image);
});

after(async () => {
  await bed?.close();
});

describe('instances running an attested workload', { skip: isolationMissing() }, () => {
  test('Never, exit 0: the token claims match the image, args, env, overrides, instance and service account', async () => {
    await ok(
      ...createLine(
        'vm1',
        `tee-restart-policy=Never~tee-env-GREETING=bonjour~tee-cmd=["claims","--loud"]~tee-signed-image-repos=${signatureRepo}`,
      ),
    );
    const done = await waitFor('vm1 TERMINATED', async () => {
      const vm = await describeVm('vm1');
      return vm.status === 'TERMINATED' ? vm : undefined;
    });
    const output = await serial('vm1');
    assert.equal(done.confidentialSpace.lastExitCode, 0, output);
    assert.equal(done.confidentialSpace.bootCount, 1);
    const [claims, extra] = claimLines(output);
    assert.ok(claims, output);
    assert.equal(extra, undefined);
    assert.equal(claims.aud, 'https://sts.googleapis.com');
    assert.equal(claims.hwmodel, 'SOFTWARE');
    assert.equal(claims.swname, 'CONFIDENTIAL_SPACE');
    assert.equal(claims.dbgstat, 'disabled-since-boot');
    assert.deepEqual(claims.google_service_accounts, [SA]);
    assert.equal(claims.container.image_reference, imageRef);
    assert.equal(claims.container.image_digest, digest);
    assert.equal(claims.container.restart_policy, 'Never');
    assert.deepEqual(claims.container.args, ['/usr/local/bin/node', '/app/index.mjs', 'claims', '--loud']);
    assert.deepEqual(claims.container.cmd_override, ['claims', '--loud']);
    assert.deepEqual(claims.container.env_override, { GREETING: 'bonjour' });
    assert.equal(claims.container.env.GREETING, 'bonjour');
    assert.equal(claims.container.env.HOSTNAME, 'vm1');
    const projectNumber = (
      await ok('projects', 'describe', 'operator-project', '--format=value(projectNumber)')
    ).trim();
    assert.deepEqual(claims.gce, {
      zone: ZONE,
      project_id: 'operator-project',
      project_number: projectNumber,
      instance_name: 'vm1',
      instance_id: done.id,
    });
    assert.ok(claims.confidential_space.support_attributes.includes('STABLE'));
    assert.equal(claims.confidential_space.monitoring_enabled.memory, false);
    assert.deepEqual(
      claims.container.image_signatures.map((sig: Json) => [sig.key_id, sig.signature_algorithm]),
      [[keyId, 'ECDSA_P256_SHA256']],
    );
    assert.match(output, /launcher: exit code 0/);
    // tee-container-log-redirect=true: the same line is in the project's log, with the instance's labels.
    const entries = JSON.parse(await ok('logging', 'read', '--format=json'));
    const logged = entries.find((e: Json) => String(e.textPayload ?? '').startsWith('CLAIMS '));
    assert.ok(logged, JSON.stringify(entries.slice(-3)));
    assert.equal(logged.severity, 'INFO');
    assert.match(logged.logName, /confidential-space-launcher$/);
    if (process.env.SEALROOM_E2E_PRINT_SERIAL) console.log(output);
  });

  test('Never, exit 1: the instance stops after one boot with exit code 1', async () => {
    await ok(...createLine('vm-fail', 'tee-restart-policy=Never~tee-env-EXIT_CODE=1'));
    const done = await waitFor('vm-fail TERMINATED', async () => {
      const vm = await describeVm('vm-fail');
      return vm.status === 'TERMINATED' ? vm : undefined;
    });
    assert.equal(done.confidentialSpace.lastExitCode, 1, await serial('vm-fail'));
    assert.equal(done.confidentialSpace.bootCount, 1);
  });

  test('OnFailure, exit 1: the instance reboots with a new boot count and a new token', async () => {
    await ok(...createLine('vm-retry', 'tee-restart-policy=OnFailure~tee-env-EXIT_CODE=1'));
    const claims = await waitFor('two boots of vm-retry', async () => {
      const lines = claimLines(await serial('vm-retry'));
      return lines.length >= 2 ? lines : undefined;
    });
    await ok('compute', 'instances', 'stop', 'vm-retry', `--zone=${ZONE}`);
    const vm = await describeVm('vm-retry');
    assert.equal(vm.status, 'TERMINATED');
    assert.ok(vm.confidentialSpace.bootCount >= 2);
    assert.notEqual(claims[0].token, claims[1].token);
    assert.equal(claims[1].container.restart_policy, 'OnFailure');
    assert.equal(claims[0].gce.instance_id, claims[1].gce.instance_id);
  });

  test('Always, exit 0: a successful workload reboots too, until the operator stops the instance', async () => {
    await ok(...createLine('vm-always', 'tee-restart-policy=Always'));
    await waitFor('two boots of vm-always', async () =>
      claimLines(await serial('vm-always')).length >= 2 ? true : undefined,
    );
    await ok('compute', 'instances', 'stop', 'vm-always', `--zone=${ZONE}`);
    const vm = await describeVm('vm-always');
    assert.equal(vm.status, 'TERMINATED');
    assert.ok(vm.confidentialSpace.bootCount >= 2);
    assert.match(await serial('vm-always'), /launcher: exit code 3/);
  });

  test('stop sends SIGTERM to a running workload, which can end cleanly; the instance is TERMINATED', async () => {
    await ok(...createLine('vm-wait', 'tee-restart-policy=Never~tee-cmd=["wait"]'));
    await waitFor('vm-wait running its workload', async () =>
      claimLines(await serial('vm-wait')).length === 1 ? true : undefined,
    );
    await ok('compute', 'instances', 'stop', 'vm-wait', `--zone=${ZONE}`);
    const vm = await describeVm('vm-wait');
    assert.equal(vm.status, 'TERMINATED');
    const output = await serial('vm-wait');
    assert.match(output, /workload stdout: SIGTERM received/);
    assert.match(output, /launcher: exit code 0/);
    await ok('compute', 'instances', 'start', 'vm-wait', `--zone=${ZONE}`);
    await waitFor('vm-wait booted again', async () =>
      claimLines(await serial('vm-wait')).length === 2 ? true : undefined,
    );
    assert.equal((await describeVm('vm-wait')).confidentialSpace.bootCount, 2);
    await ok('compute', 'instances', 'delete', 'vm-wait', `--zone=${ZONE}`);
  });

  test('reset kills the workload without SIGTERM and boots it again with a fresh token', async () => {
    await ok(...createLine('vm-reset', 'tee-restart-policy=Never~tee-cmd=["wait"]'));
    await waitFor('vm-reset running its workload', async () =>
      claimLines(await serial('vm-reset')).length === 1 ? true : undefined,
    );
    await ok('compute', 'instances', 'reset', 'vm-reset', `--zone=${ZONE}`);
    await waitFor('vm-reset booted again', async () =>
      claimLines(await serial('vm-reset')).length === 2 ? true : undefined,
    );
    const output = await serial('vm-reset');
    assert.match(output, /sealroom: hard reset/);
    assert.doesNotMatch(output, /SIGTERM received/, 'a reset gives the workload no chance to react');
    assert.equal((await describeVm('vm-reset')).confidentialSpace.bootCount, 2);
    await ok('compute', 'instances', 'delete', 'vm-reset', `--zone=${ZONE}`);
  });

  test('debug image: the launcher holds with 4, the instance stays up and accepts exec; hardened refuses it', async () => {
    await ok(...createLine('dbg', 'tee-restart-policy=Never', 'confidential-space-debug'));
    const held = await waitFor('dbg held', async () => {
      const vm = await describeVm('dbg');
      return vm.confidentialSpace.lastExitCode === undefined ? undefined : vm;
    });
    assert.equal(held.confidentialSpace.lastExitCode, 4);
    assert.equal(held.status, 'RUNNING');
    const [claims] = claimLines(await serial('dbg'));
    assert.equal(claims.dbgstat, 'enabled');
    assert.deepEqual(claims.confidential_space.support_attributes ?? [], []);
    const exec = await ok(
      'compute',
      'ssh',
      'dbg',
      `--zone=${ZONE}`,
      '--command=/usr/local/bin/node /app/index.mjs exec',
    );
    assert.equal(exec.trim(), 'EXEC dbg dbg');
    const refused = await cli('compute', 'ssh', 'vm1', `--zone=${ZONE}`, '--command=id');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /hardened confidential-space image: the operator has no shell/);
    await ok('compute', 'instances', 'delete', 'dbg', `--zone=${ZONE}`);
    const gone = await cli('compute', 'instances', 'describe', 'dbg', `--zone=${ZONE}`);
    assert.equal(gone.code, 1);
  });
});
