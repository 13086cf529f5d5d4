// The seed's `gcloud compute instances create` line becomes the Compute Engine instance resource.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandContext } from '../command.ts';
import { toInstanceBody } from './compute.ts';

function contextOf(flags: CommandContext['flags']): CommandContext {
  return { args: { NAME: 'vm1' }, flags, env: {}, project: () => 'operator-project' } as unknown as CommandContext;
}

test("the seed's flags are recorded and ^~^ metadata keeps commas and '=' in values", () => {
  const body = toInstanceBody(
    contextOf({
      'confidential-compute': true,
      'shielded-secure-boot': true,
      tags: ['tee-vm'],
      'maintenance-policy': 'TERMINATE',
      scopes: ['cloud-platform'],
      zone: 'us-central1-a',
      'image-project': 'confidential-space-images',
      'image-family': 'confidential-space',
      network: 'teenetwork',
      'no-address': true,
      'service-account': 'operator-svc-account@operator-project.iam.gserviceaccount.com',
      metadata: ['^~^tee-image-reference=h/p/r/tee@sha256:ab~tee-restart-policy=Never~tee-env-LIST=a,b=c'],
    }),
  );
  assert.deepEqual(body, {
    name: 'vm1',
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space' },
      },
    ],
    serviceAccounts: [
      {
        email: 'operator-svc-account@operator-project.iam.gserviceaccount.com',
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ],
    metadata: {
      items: [
        { key: 'tee-image-reference', value: 'h/p/r/tee@sha256:ab' },
        { key: 'tee-restart-policy', value: 'Never' },
        { key: 'tee-env-LIST', value: 'a,b=c' },
      ],
    },
    tags: { items: ['tee-vm'] },
    confidentialInstanceConfig: { enableConfidentialCompute: true },
    shieldedInstanceConfig: { enableSecureBoot: true },
    scheduling: { onHostMaintenance: 'TERMINATE' },
    networkInterfaces: [{ network: 'global/networks/teenetwork' }],
  });
});

test('a later --metadata key wins, and an address is requested unless --no-address', () => {
  const body = toInstanceBody(
    contextOf({
      zone: 'us-central1-a',
      'service-account': 'sa@p.iam.gserviceaccount.com',
      'image-family': 'confidential-space-debug',
      metadata: ['tee-restart-policy=Never', 'tee-restart-policy=OnFailure'],
    }),
  ) as Record<string, unknown> & { metadata: unknown; disks: { initializeParams: { sourceImage: string } }[] };
  assert.deepEqual(body.metadata, { items: [{ key: 'tee-restart-policy', value: 'OnFailure' }] });
  assert.match(body.disks[0]?.initializeParams.sourceImage ?? '', /family\/confidential-space-debug$/);
  assert.deepEqual(body.networkInterfaces, [
    { network: 'global/networks/default', accessConfigs: [{ name: 'external-nat', type: 'ONE_TO_ONE_NAT' }] },
  ]);
});

test('without --service-account the command says what is missing', () => {
  assert.throws(() => toInstanceBody(contextOf({ zone: 'us-central1-a' })), /--service-account/);
});

test('add-metadata and remove-metadata change items under the fingerprint; list prints a table', async () => {
  const { startCliTestBed } = await import('../testing.ts');
  const bed = await startCliTestBed({ name: 'compute-metadata', only: ['compute'] });
  try {
    await bed.ok('auth', 'login', 'operator@example.com');
    await bed.ok('projects', 'create', 'op-project', '--set-as-default');
    await bed.ok('config', 'set', 'compute/zone', 'us-central1-a');
    await bed.ok('iam', 'service-accounts', 'create', 'runner');
    await bed.ok(
      'compute',
      'instances',
      'create',
      'vm1',
      '--service-account=runner@op-project.iam.gserviceaccount.com',
      // Nothing serves this registry: the boot fails, the instance and its metadata stay.
      '--metadata=tee-image-reference=127.0.0.1:9/op-project/repo/app:v1,tee-restart-policy=Never',
    );
    const items = async () =>
      (
        JSON.parse(await bed.ok('compute', 'instances', 'describe', 'vm1', '--format=json')) as {
          metadata: { items: { key: string; value: string }[] };
        }
      ).metadata.items;
    const added = await bed.cli(
      'compute',
      'instances',
      'add-metadata',
      'vm1',
      '--metadata=team=ops,tee-restart-policy=Always',
    );
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /Updated \[vm1\]/);
    assert.deepEqual(await items(), [
      { key: 'tee-image-reference', value: '127.0.0.1:9/op-project/repo/app:v1' },
      { key: 'tee-restart-policy', value: 'Always' },
      { key: 'team', value: 'ops' },
    ]);
    await bed.ok('compute', 'instances', 'remove-metadata', 'vm1', '--keys=team,absent');
    assert.deepEqual(
      (await items()).map((i) => i.key),
      ['tee-image-reference', 'tee-restart-policy'],
    );
    const again = await bed.cli('compute', 'instances', 'remove-metadata', 'vm1', '--keys=team');
    assert.match(again.stderr, /No change requested/);
    assert.equal(
      (await bed.cli('compute', 'instances', 'add-metadata', 'vm1')).code,
      2,
      'nothing to add is a usage error',
    );
    const table = await bed.ok('compute', 'instances', 'list');
    assert.match(table, /^NAME +ZONE +MACHINE_TYPE +INTERNAL_IP +STATUS\nvm1 +us-central1-a +/);
  } finally {
    await bed.close();
  }
});
