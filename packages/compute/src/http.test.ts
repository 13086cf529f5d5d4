// The instances API in process: lifecycle, IAM (roles, actAs, denied = missing), serial output, exec, errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLeases } from '@sealroom/core';
import { type IamTestContext, createIamTestContext } from '@sealroom/iam/testing';
import { buildRestApp } from '@sealroom/transport';
import { createComputeModule } from './module.ts';
import {
  type ComputeTestApp,
  type FakeAgent,
  createFakeAgent,
  seedOperatorProject,
  startComputeTestApp,
} from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: GCE JSON read field by field
type Json = any;
type App = Awaited<ReturnType<typeof buildRestApp>>;

const ZONE = 'us-central1-a';
const BASE = `/compute/v1/projects/operator-project/zones/${ZONE}/instances`;
const SA = 'run-confidential-vm@operator-project.iam.gserviceaccount.com';

function createBody(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    serviceAccounts: [{ email: SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
    metadata: {
      items: [
        { key: 'tee-image-reference', value: '127.0.0.1:8080/builder-project/repo1/wordcount:v1' },
        { key: 'tee-restart-policy', value: 'Never' },
      ],
    },
    disks: [
      {
        boot: true,
        initializeParams: { sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space' },
      },
    ],
    confidentialInstanceConfig: { enableConfidentialCompute: true },
    shieldedInstanceConfig: { enableSecureBoot: true },
    scheduling: { onHostMaintenance: 'TERMINATE' },
    tags: { items: ['tee-vm'] },
    labels: { team: 'ops' },
    ...overrides,
  };
}

describe('the instances API', () => {
  let t: IamTestContext;
  let app: App;
  let agent: FakeAgent;
  const tokens: Record<string, string> = {};

  let call: ComputeTestApp['call'];

  before(async () => {
    t = await createIamTestContext();
    await seedOperatorProject(t, ['owner', 'admin', 'viewer', 'stranger', 'admin-no-actas'], tokens);
    await t.createProject('stranger-project', 'stranger@example.com');
    await t.grant('projects/operator-project', 'roles/compute.instanceAdmin.v1', 'user:admin@example.com');
    await t.grant('projects/operator-project', 'roles/iam.serviceAccountUser', 'user:admin@example.com');
    await t.grant('projects/operator-project', 'roles/compute.instanceAdmin.v1', 'user:admin-no-actas@example.com');
    await t.grant('projects/operator-project', 'roles/compute.viewer', 'user:viewer@example.com');
    ({ app, agent, call } = await startComputeTestApp(t, tokens));
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('what gcloud sends and reads: the project, the zone, canIpForward and deletionProtection false', async () => {
    const project = await call('viewer', 'GET', '/compute/v1/projects/operator-project');
    assert.equal(project.status, 200, JSON.stringify(project.json));
    assert.equal(project.json.name, 'operator-project');
    const zone = await call('viewer', 'GET', `/compute/v1/projects/operator-project/zones/${ZONE}`);
    assert.equal(zone.status, 200);
    assert.equal(zone.json.status, 'UP');
    assert.match(zone.json.region, /\/regions\/us-central1$/);
    const denied = await call('stranger', 'GET', `/compute/v1/projects/operator-project/zones/${ZONE}`);
    const missing = await call('stranger', 'GET', `/compute/v1/projects/no-such-project/zones/${ZONE}`);
    assert.equal(denied.status, 403);
    assert.equal(missing.status, 403);
    const badZone = await call('viewer', 'GET', '/compute/v1/projects/operator-project/zones/moon');
    assert.equal(badZone.status, 400);
    const withFlags = await call(
      'owner',
      'POST',
      BASE,
      createBody('vm-gcloud', {
        canIpForward: false,
        deletionProtection: false,
        machineType: `http://127.0.0.1/compute/v1/projects/operator-project/zones/${ZONE}/machineTypes/n2d-standard-2`,
        networkInterfaces: [{ network: 'http://127.0.0.1/compute/v1/projects/operator-project/global/networks/n' }],
      }),
    );
    assert.equal(withFlags.status, 200, JSON.stringify(withFlags.json));
    const got = await call('owner', 'GET', `${BASE}/vm-gcloud`);
    assert.equal(got.json.canIpForward, false);
    for (const field of ['canIpForward', 'deletionProtection']) {
      const refused = await call('owner', 'POST', BASE, createBody('vm-refused', { [field]: true }));
      assert.equal(refused.status, 400, field);
      assert.match(refused.json.error.message, new RegExp(field));
    }
    assert.equal((await call('owner', 'DELETE', `${BASE}/vm-gcloud`)).status, 200);
  });

  test('create answers a DONE insert operation and boots the instance with its identity and metadata', async () => {
    const created = await call('owner', 'POST', BASE, createBody('vm1'));
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.kind, 'compute#operation');
    assert.equal(created.json.operationType, 'insert');
    assert.equal(created.json.status, 'DONE');
    assert.match(created.json.targetId, /^[1-9]\d{18}$/);
    const boot = agent.boots.at(-1);
    assert.equal(boot?.name, 'vm1');
    assert.equal(boot?.instanceId, created.json.targetId);
    assert.equal(boot?.imageFamily, 'confidential-space');
    assert.equal(boot?.serviceAccountEmail, SA);
    assert.equal(boot?.metadata['tee-restart-policy'], 'Never');
    const got = await call('viewer', 'GET', `${BASE}/vm1`);
    assert.equal(got.status, 200);
    assert.equal(got.json.id, created.json.targetId);
    assert.equal(got.json.status, 'RUNNING');
    assert.equal(got.json.confidentialSpace.bootCount, 1);
    assert.deepEqual(got.json.serviceAccounts, [
      { email: SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
    ]);
    assert.deepEqual(got.json.confidentialInstanceConfig, { enableConfidentialCompute: true });
    assert.deepEqual(got.json.tags, { items: ['tee-vm'] });
    assert.equal(got.json.metadata.items[0].key, 'tee-image-reference');
    assert.match(got.json.selfLink, /\/compute\/v1\/projects\/operator-project\/zones\/us-central1-a\/instances\/vm1$/);
  });

  test('a second instance with the same name in the zone is refused with 409', async () => {
    const again = await call('owner', 'POST', BASE, createBody('vm1'));
    assert.equal(again.status, 409);
    assert.equal(again.json.error.status, 'ALREADY_EXISTS');
  });

  test('setMetadata compares fingerprints by their bytes: the URL-safe alphabet gcloud sends back is accepted', async () => {
    // Change the metadata until its fingerprint has a character the two alphabets spell differently (bounded).
    let urlSafe: string | undefined;
    for (let i = 0; i < 200 && urlSafe === undefined; i++) {
      const current = (await call('admin', 'GET', `${BASE}/vm1`)).json.metadata;
      const std = current.fingerprint as string;
      if (/[+/]/.test(std)) {
        urlSafe = std.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        break;
      }
      const items = [
        ...(current.items ?? []).filter((it: { key: string }) => it.key !== 'spin'),
        { key: 'spin', value: String(i) },
      ];
      assert.equal((await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { fingerprint: std, items })).status, 200);
    }
    assert.ok(urlSafe, 'no fingerprint with + or / in 200 changes');
    const current = (await call('admin', 'GET', `${BASE}/vm1`)).json.metadata;
    const items = (current.items ?? []).filter((it: { key: string }) => it.key !== 'spin');
    const set = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { fingerprint: urlSafe, items });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    const bad = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { fingerprint: 'not base64!', items });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /metadata\.fingerprint/);
  });

  test('setMetadata replaces the items under the fingerprint read; a stale fingerprint is refused', async () => {
    const before = await call('admin', 'GET', `${BASE}/vm1`);
    const fingerprint = before.json.metadata.fingerprint as string;
    const items = [...before.json.metadata.items, { key: 'team-note', value: 'hello' }];
    const set = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { fingerprint, items });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.equal(set.json.operationType, 'setMetadata');
    const after = await call('viewer', 'GET', `${BASE}/vm1`);
    assert.deepEqual(after.json.metadata.items.at(-1), { key: 'team-note', value: 'hello' });
    assert.notEqual(after.json.metadata.fingerprint, fingerprint, 'the change moved the fingerprint');
    // A second writer still holding the first fingerprint loses, and changes nothing.
    const stale = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { fingerprint, items: [] });
    assert.equal(stale.status, 400);
    assert.equal(stale.json.error.status, 'FAILED_PRECONDITION');
    assert.match(stale.json.error.message, /fingerprint does not match/);
    assert.equal((await call('viewer', 'GET', `${BASE}/vm1`)).json.metadata.items.length, items.length);
    const missing = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, { items: [] });
    assert.equal(missing.status, 400, 'the fingerprint is required');
    const viewer = await call('viewer', 'POST', `${BASE}/vm1/setMetadata`, {
      fingerprint: after.json.metadata.fingerprint,
      items: [],
    });
    assert.equal(viewer.status, 403);
    assert.match(viewer.json.error.message, /compute\.instances\.setMetadata/);
    const duplicate = await call('admin', 'POST', `${BASE}/vm1/setMetadata`, {
      fingerprint: after.json.metadata.fingerprint,
      items: [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
    });
    assert.equal(duplicate.status, 400);
  });

  test('a caller without access gets the same 403 for an existing and a missing instance', async () => {
    const existing = await call('stranger', 'GET', `${BASE}/vm1`);
    const missing = await call('stranger', 'GET', `${BASE}/nope`);
    assert.equal(existing.status, 403);
    assert.equal(existing.json.error.message.replace('vm1', 'X'), missing.json.error.message.replace('nope', 'X'));
    assert.match(existing.json.error.message, /compute\.instances\.get.*\(or it may not exist\)/);
    const allowedMissing = await call('viewer', 'GET', `${BASE}/nope`);
    assert.equal(allowedMissing.status, 404);
  });

  test('only the operator project lists its instances', async () => {
    const mine = await call('viewer', 'GET', BASE);
    assert.deepEqual(
      mine.json.items.map((i: Json) => i.name),
      ['vm1'],
    );
    const theirs = await call('stranger', 'GET', `/compute/v1/projects/stranger-project/zones/${ZONE}/instances`);
    assert.equal(theirs.status, 200);
    assert.equal(theirs.json.items, undefined);
    assert.equal((await call('stranger', 'GET', BASE)).status, 403);
  });

  const permissionTable: [who: string, method: string, path: string, status: number][] = [
    ['viewer', 'POST', BASE, 403],
    ['viewer', 'POST', `${BASE}/vm1/stop`, 403],
    ['viewer', 'DELETE', `${BASE}/vm1`, 403],
    ['viewer', 'GET', `${BASE}/vm1/serialPort`, 403],
    ['admin', 'GET', `${BASE}/vm1/serialPort`, 200],
    ['stranger', 'POST', `${BASE}/vm1/start`, 403],
  ];
  for (const [who, method, path, status] of permissionTable) {
    test(`${who} ${method} ${path.slice(BASE.length) || '/'} answers ${status}`, async () => {
      const res = await call(who, method, path, method === 'POST' && path === BASE ? createBody('vm9') : undefined);
      assert.equal(res.status, status, JSON.stringify(res.json));
    });
  }

  test('attaching a service account needs iam.serviceAccounts.actAs on it', async () => {
    const denied = await call('admin-no-actas', 'POST', BASE, createBody('vm2'));
    assert.equal(denied.status, 403);
    assert.match(denied.json.error.message, /iam\.serviceAccounts\.actAs/);
    const allowed = await call('admin', 'POST', BASE, createBody('vm2'));
    assert.equal(allowed.status, 200, JSON.stringify(allowed.json));
  });

  test('a service account that does not exist is refused', async () => {
    const res = await call(
      'owner',
      'POST',
      BASE,
      createBody('vm3', { serviceAccounts: [{ email: 'ghost@operator-project.iam.gserviceaccount.com' }] }),
    );
    assert.equal(res.status, 400);
    assert.equal(res.json.error.details[0].reason, 'ERR_COMPUTE_SERVICE_ACCOUNT');
  });

  const badBodies: [what: string, body: Record<string, unknown>, reason: string][] = [
    [
      'an image outside the Confidential Space families',
      createBody('vm4', {
        disks: [
          { boot: true, initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' } },
        ],
      }),
      'ERR_COMPUTE_IMAGE_FAMILY',
    ],
    ['an invalid instance name', createBody('VM_4'), 'ERR_COMPUTE_BAD_REQUEST'],
    ['no service account', createBody('vm4', { serviceAccounts: [] }), 'ERR_COMPUTE_SERVICE_ACCOUNT'],
    ['an unknown field', createBody('vm4', { canIpForwardd: true }), 'ERR_BAD_REQUEST_BODY'],
    [
      'a metadata key with a space',
      createBody('vm4', { metadata: { items: [{ key: 'tee cmd', value: '[]' }] } }),
      'ERR_COMPUTE_BAD_REQUEST',
    ],
  ];
  for (const [what, body, reason] of badBodies) {
    test(`create refuses ${what} with 400 ${reason}`, async () => {
      const res = await call('owner', 'POST', BASE, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error.details[0].reason, reason);
    });
  }

  test('stop terminates; start boots again with the next boot count; start while running is refused', async () => {
    const stopped = await call('admin', 'POST', `${BASE}/vm2/stop`);
    assert.equal(stopped.json.operationType, 'stop');
    assert.equal((await call('admin', 'GET', `${BASE}/vm2`)).json.status, 'TERMINATED');
    const started = await call('admin', 'POST', `${BASE}/vm2/start`);
    assert.equal(started.status, 200);
    assert.equal(agent.boots.at(-1)?.previousBoots, 1);
    const after = await call('admin', 'GET', `${BASE}/vm2`);
    assert.equal(after.json.status, 'RUNNING');
    assert.equal(after.json.confidentialSpace.bootCount, 2);
    const twice = await call('admin', 'POST', `${BASE}/vm2:start`);
    assert.equal(twice.status, 400);
    assert.equal(twice.json.error.status, 'FAILED_PRECONDITION');
  });

  test('serial output is kept per instance and read from an offset', async () => {
    const all = await call('admin', 'GET', `${BASE}/vm2/serialPort`);
    assert.equal(all.json.kind, 'compute#serialPortOutput');
    assert.match(all.json.contents, /^\S+ sealroom: power on.*\n\S+ boot of vm2\n.*\S+ boot of vm2\n$/s);
    assert.doesNotMatch(all.json.contents, /boot of vm1/);
    const tail = await call('admin', 'GET', `${BASE}/vm2/serialPort?start=${all.json.next}`);
    assert.equal(tail.json.contents, '');
    assert.equal(tail.json.start, all.json.next);
  });

  test('reset kills the workload at once and boots the instance again; a stopped instance cannot be reset', async () => {
    const reset = await call('admin', 'POST', `${BASE}/vm2:reset`);
    assert.equal(reset.status, 200, JSON.stringify(reset.json));
    assert.equal(reset.json.operationType, 'reset');
    assert.deepEqual(agent.powerOffs.at(-1), { id: agent.boots.at(-1)?.instanceId, hard: true });
    assert.equal(agent.boots.at(-1)?.previousBoots, 2);
    const after = await call('admin', 'GET', `${BASE}/vm2`);
    assert.equal(after.json.status, 'RUNNING');
    assert.equal(after.json.confidentialSpace.bootCount, 3);
    const serial = await call('admin', 'GET', `${BASE}/vm2/serialPort`);
    assert.match(serial.json.contents, /sealroom: hard reset\n/);
    await call('admin', 'POST', `${BASE}/vm2/stop`);
    const refused = await call('admin', 'POST', `${BASE}/vm2/reset`);
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.details[0].reason, 'ERR_COMPUTE_INSTANCE_STATE');
    const viewer = await call('viewer', 'POST', `${BASE}/vm2/reset`);
    assert.equal(viewer.status, 403);
    await call('admin', 'POST', `${BASE}/vm2/start`);
  });

  test('exec is refused on a hardened instance and runs on a debug one', async () => {
    const hardened = await call('owner', 'POST', `${BASE}/vm1:exec`, { command: ['id'] });
    assert.equal(hardened.status, 400);
    assert.equal(hardened.json.error.details[0].reason, 'ERR_COMPUTE_NO_OPERATOR_ACCESS');
    const debugBody = createBody('dbg1', {
      disks: [
        {
          boot: true,
          initializeParams: {
            sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space-debug',
          },
        },
      ],
    });
    assert.equal((await call('owner', 'POST', BASE, debugBody)).status, 200);
    const ran = await call('owner', 'POST', `${BASE}/dbg1:exec`, { command: ['cat', '/etc/hostname'] });
    assert.equal(ran.status, 200, JSON.stringify(ran.json));
    assert.deepEqual(ran.json, { exitCode: 0, stdout: 'ran cat /etc/hostname\n', stderr: '' });
    assert.equal((await call('viewer', 'POST', `${BASE}/dbg1:exec`, { command: ['id'] })).status, 403);
  });

  test('delete removes the instance: afterwards it is 404 for its owner', async () => {
    const deleted = await call('owner', 'DELETE', `${BASE}/vm1`);
    assert.equal(deleted.json.operationType, 'delete');
    assert.equal((await call('owner', 'GET', `${BASE}/vm1`)).status, 404);
  });

  test('every change lands in the project audit log', async () => {
    const number = (await t.context.projects.resolve('operator-project'))?.projectNumber ?? '';
    const audited = await t.deps.audit.list(number, { pageSize: 1000 });
    const methods = audited.map((e: Json) => e.body?.protoPayload?.methodName).filter(Boolean);
    for (const m of ['v1.compute.instances.insert', 'v1.compute.instances.stop', 'v1.compute.instances.delete'])
      assert.ok(methods.includes(m), `${m} in ${methods.join(',')}`);
  });
});

describe('a server restart', () => {
  test('marks instances the previous process was running as TERMINATED, with a reason', async () => {
    const t = await createIamTestContext();
    const { accessToken } = await t.createUser('owner@example.com');
    const project = await t.createProject('operator-project', 'owner@example.com');
    await t.deps.serviceAccounts.create(project, 'run-confidential-vm', 'runs VMs', '');
    const first = await createComputeModule(t.context, { agent: createFakeAgent() });
    const app = await buildRestApp({ routes: first.routes, authenticator: t.context.authenticator, logger: t.logger });
    const res = await app.inject({
      method: 'POST',
      url: BASE,
      headers: { authorization: `Bearer ${accessToken}` },
      payload: createBody('vm1'),
    });
    assert.equal(res.statusCode, 200, res.body);
    await app.close();
    // The restarted process is another lease holder: the first one's instances are no longer its own.
    const leases = createLeases({ db: t.context.db, clock: t.context.clock, holder: 'restarted-process' });
    const second = await createComputeModule({ ...t.context, leases }, { agent: createFakeAgent() });
    await second.start?.();
    const after = await t.context.db.get<{ body: string }>('SELECT body FROM compute_instances');
    const row = JSON.parse(after?.body ?? '{}') as Json;
    assert.equal(row.status, 'TERMINATED');
    assert.match(row.statusMessage, /host restarted/);
    await second.stop?.();
    await t.close();
  });
});
