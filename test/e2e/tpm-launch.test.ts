// Instances on the tpm platform end to end: `serve --platform tpm` against swtpm, an image built and pushed, an
// instance created with the operator's command line; the token the workload reads is the launch's, from a real TPM.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CliTestBed } from '@sealroom/cli/testing';
import { SWTPM_AVAILABLE, type Swtpm, startSwtpm } from '@sealroom/attest/testing';
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

const skip = (): string | false => (SWTPM_AVAILABLE ? isolationMissing() : 'swtpm is not installed');

let swtpm: Swtpm | undefined;
let bed: CliTestBed | undefined;
let imageRef: string;
let digest: string;
let signatureRepo: string;
let keyId: string;

const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);
const describeVm = async (name: string): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
const serial = (name: string) => ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);
/** The seed's `gcloud compute instances create` line, as `sealroom`, with this test's metadata. */
const createLine = (name: string, metadata: string, family?: string): string[] =>
  instancesCreateLine(name, imageRef, metadata, family);

before(async () => {
  if (skip()) return;
  swtpm = await startSwtpm();
  let image: SignedImage;
  ({ bed, image } = await startClaimsLaunchBed('e2e-tpm', {
    compute: { platform: 'tpm', tpm: swtpm.address, tpmCtrl: swtpm.ctrl },
  }));
  ({ imageRef, digest, signatureRepo, keyId } = image);
});

after(async () => {
  await bed?.close();
  await swtpm?.stop();
});

describe('instances attested by a TPM', { skip: skip() }, () => {
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
    assert.equal(done.confidentialSpace.platform, 'tpm');
    assert.match(
      output,
      /sealroom: boot 1 on the tpm platform \(tcp:\/\/127\.0\.0\.1:\d+; AK certified by the platform CA\)/,
    );
    const [claims, extra] = claimLines(output);
    assert.ok(claims, output);
    assert.equal(extra, undefined);
    assert.equal(claims.aud, 'https://sts.googleapis.com');
    // The dev verifier trusts the platform CA that certified the TPM's AK as SOFTWARE (docs/launcher.md).
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

  test('OnFailure, exit 1: each boot power-cycles the simulator, so every boot attests from reset PCRs', async () => {
    await ok(...createLine('vm2', 'tee-restart-policy=OnFailure~tee-env-EXIT_CODE=1'));
    const output = await waitFor('two boots of vm2', async () => {
      const text = await serial('vm2');
      return claimLines(text).length >= 2 ? text : undefined;
    });
    await ok('compute', 'instances', 'stop', 'vm2', `--zone=${ZONE}`);
    const [first, second] = claimLines(output);
    assert.notEqual(first.token, second.token);
    assert.equal(second.container.image_digest, digest);
    assert.match(output, /boot 2 on the tpm platform/);
  });
});
