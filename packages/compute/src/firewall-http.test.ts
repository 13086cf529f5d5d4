// The firewall rules API in process: gcloud's shapes, validation, IAM, and rules reaching running instances.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type IamTestContext, createIamTestContext } from '@sealroom/iam/testing';
import { type ComputeTestApp, type FakeAgent, seedOperatorProject, startComputeTestApp } from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: GCE JSON read field by field
type Json = any;
type App = ComputeTestApp['app'];

const FIREWALLS = '/compute/v1/projects/operator-project/global/firewalls';
const INSTANCES = '/compute/v1/projects/operator-project/zones/us-central1-a/instances';
const SA = 'run-confidential-vm@operator-project.iam.gserviceaccount.com';

const denyEgress = {
  name: 'deny-lab',
  network: 'projects/operator-project/global/networks/default',
  direction: 'EGRESS',
  priority: 900,
  denied: [{ IPProtocol: 'tcp', ports: ['25', '465-587'] }, { IPProtocol: 'udp' }],
  destinationRanges: ['198.51.100.0/24'],
  targetTags: ['tee-vm'],
};

describe('the firewall rules API', () => {
  let t: IamTestContext;
  let app: App;
  let agent: FakeAgent;
  const tokens: Record<string, string> = {};
  let call: ComputeTestApp['call'];

  before(async () => {
    t = await createIamTestContext();
    await seedOperatorProject(t, ['owner', 'security', 'viewer', 'stranger'], tokens);
    await t.grant('projects/operator-project', 'roles/compute.securityAdmin', 'user:security@example.com');
    await t.grant('projects/operator-project', 'roles/compute.viewer', 'user:viewer@example.com');
    ({ app, agent, call } = await startComputeTestApp(t, tokens));
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('a rule is created, read, listed and deleted in Compute Engine shapes; running instances get it at once', async () => {
    const vm = await call('owner', 'POST', INSTANCES, {
      name: 'vm1',
      serviceAccounts: [{ email: SA }],
      metadata: { items: [{ key: 'tee-image-reference', value: 'r/i:v1' }] },
      disks: [{ boot: true, initializeParams: { sourceImage: 'projects/x/global/images/family/confidential-space' } }],
      tags: { items: ['tee-vm'] },
    });
    assert.equal(vm.status, 200, JSON.stringify(vm.json));
    const boot = agent.boots.at(-1);
    assert.deepEqual(boot?.tags, ['tee-vm']);
    assert.deepEqual(boot?.firewall, []);

    const created = await call('security', 'POST', FIREWALLS, denyEgress);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.kind, 'compute#operation');
    assert.equal(created.json.status, 'DONE');
    const id = vm.json.targetId as string;
    assert.deepEqual(
      agent.firewalls.get(id)?.map((r) => [r.name, r.direction, r.action, r.priority, r.matches]),
      [
        [
          'deny-lab',
          'EGRESS',
          'deny',
          900,
          [
            {
              protocol: 6,
              ports: [
                { from: 25, to: 25 },
                { from: 465, to: 587 },
              ],
            },
            { protocol: 17, ports: [] },
          ],
        ],
      ],
    );

    const got = await call('viewer', 'GET', `${FIREWALLS}/deny-lab`);
    assert.equal(got.status, 200);
    assert.deepEqual(
      [got.json.kind, got.json.direction, got.json.denied, got.json.destinationRanges, got.json.targetTags],
      ['compute#firewall', 'EGRESS', denyEgress.denied, ['198.51.100.0/24'], ['tee-vm']],
    );
    assert.match(got.json.network, /\/global\/networks\/default$/);
    const listed = await call('viewer', 'GET', FIREWALLS);
    assert.deepEqual(
      listed.json.items.map((r: Json) => r.name),
      ['deny-lab'],
    );
    assert.equal((await call('security', 'POST', FIREWALLS, denyEgress)).status, 409);

    assert.equal((await call('security', 'DELETE', `${FIREWALLS}/deny-lab`)).status, 200);
    assert.deepEqual(agent.firewalls.get(id), []);
    assert.equal((await call('viewer', 'GET', `${FIREWALLS}/deny-lab`)).status, 404);
  });

  test('describe shows the instance address, the host address and the published port map the host reported', async () => {
    const vm = await call('owner', 'POST', INSTANCES, {
      name: 'vm2',
      serviceAccounts: [{ email: SA }],
      metadata: { items: [{ key: 'tee-image-reference', value: 'r/i:v1' }] },
      disks: [{ boot: true, initializeParams: { sourceImage: 'projects/x/global/images/family/confidential-space' } }],
    });
    agent.events(vm.json.targetId).network?.({
      isolation: 'namespace',
      networkIP: '10.213.0.6',
      gatewayAddress: '10.213.0.5',
      natIP: '192.0.2.2',
      publishedPorts: [{ protocol: 'tcp', containerPort: 8080, hostPort: 18080 }],
    });
    // The serial read waits for the reports queued before it.
    await call('owner', 'GET', `${INSTANCES}/vm2/serialPort`);
    const got = await call('viewer', 'GET', `${INSTANCES}/vm2`);
    assert.equal(got.json.networkInterfaces[0].networkIP, '10.213.0.6');
    assert.equal(got.json.networkInterfaces[0].accessConfigs[0].natIP, '192.0.2.2');
    assert.deepEqual(got.json.confidentialSpace.network, {
      isolation: 'namespace',
      gatewayAddress: '10.213.0.5',
      publishedPorts: [{ protocol: 'tcp', port: 8080, hostPort: 18080 }],
    });
  });

  test('an ingress rule without a source applies to every source, as gcloud and Compute Engine default it', async () => {
    const created = await call('security', 'POST', FIREWALLS, {
      name: 'allow-web',
      allowed: [{ IPProtocol: 'tcp', ports: ['8080'] }],
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const got = await call('viewer', 'GET', `${FIREWALLS}/allow-web`);
    assert.deepEqual([got.json.direction, got.json.priority, got.json.sourceRanges], ['INGRESS', 1000, ['0.0.0.0/0']]);
    await call('security', 'DELETE', `${FIREWALLS}/allow-web`);
  });

  const refused: [string, Record<string, unknown>][] = [
    ['both allowed and denied', { ...denyEgress, name: 'x1', allowed: [{ IPProtocol: 'all' }] }],
    ['neither allowed nor denied', { name: 'x2', direction: 'EGRESS' }],
    ['ports on icmp', { name: 'x3', allowed: [{ IPProtocol: 'icmp', ports: ['1'] }] }],
    ['a port range upside down', { name: 'x4', allowed: [{ IPProtocol: 'tcp', ports: ['90-80'] }] }],
    ['an unknown protocol', { name: 'x5', allowed: [{ IPProtocol: 'quic' }] }],
    ['an IPv6 range', { name: 'x6', allowed: [{ IPProtocol: 'all' }], sourceRanges: ['::/0'] }],
    ['a bad range', { name: 'x7', allowed: [{ IPProtocol: 'all' }], sourceRanges: ['10.0.0.0/33'] }],
    ['source tags', { name: 'x8', allowed: [{ IPProtocol: 'all' }], sourceTags: ['a'] }],
    ['another network', { name: 'x9', allowed: [{ IPProtocol: 'all' }], network: 'global/networks/other' }],
    ['a priority above 65535', { name: 'x10', allowed: [{ IPProtocol: 'all' }], priority: 70000 }],
    ['a bad name', { name: 'Bad_Name', allowed: [{ IPProtocol: 'all' }] }],
    ['an unknown field', { name: 'x11', allowed: [{ IPProtocol: 'all' }], colour: 'red' }],
  ];
  for (const [name, body] of refused) {
    test(`a rule with ${name} is refused with 400`, async () => {
      const res = await call('security', 'POST', FIREWALLS, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
    });
  }

  test('a viewer cannot create or delete rules, and a stranger cannot tell whether one exists', async () => {
    assert.equal((await call('viewer', 'POST', FIREWALLS, { ...denyEgress, name: 'v1' })).status, 403);
    await call('security', 'POST', FIREWALLS, { ...denyEgress, name: 'kept' });
    assert.equal((await call('viewer', 'DELETE', `${FIREWALLS}/kept`)).status, 403);
    assert.equal((await call('stranger', 'GET', `${FIREWALLS}/kept`)).status, 403);
    assert.equal((await call('stranger', 'GET', `${FIREWALLS}/missing`)).status, 403);
    assert.equal((await call('stranger', 'GET', FIREWALLS)).status, 403);
  });
});
