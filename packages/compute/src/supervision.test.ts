// Instance supervision across replicas: a replica's start or sweep terminates only the instances of replicas
// whose lease lapsed, never those another live replica runs; those are stopped only by their own replica.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFakeClock, createLeases } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
import { buildRestApp } from '@sealroom/transport';
import { createComputeModule } from './module.ts';
import { createFakeAgent } from './testing.ts';

const ZONE = 'us-central1-a';
const SA = 'run-confidential-vm@operator-project.iam.gserviceaccount.com';

test('a replica starting or sweeping leaves a live replica’s instances running and ends a lost one’s', async () => {
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  const t = await createIamTestContext({ clock });
  const token = (await t.createUser('admin@example.com')).accessToken;
  const project = await t.createProject('operator-project', 'admin@example.com');
  await t.deps.serviceAccounts.create(project, 'run-confidential-vm', 'runs VMs', '');
  const replica = async (holder: string) => {
    const leases = createLeases({ db: t.context.db, clock, holder });
    const module = await createComputeModule({ ...t.context, leases }, { agent: createFakeAgent() });
    const app = await buildRestApp({ routes: module.routes, authenticator: t.context.authenticator, logger: t.logger });
    return { module, app, leases };
  };
  const a = await replica('replica-a');
  const b = await replica('replica-b');
  try {
    await a.module.start?.();
    const created = await a.app.inject({
      method: 'POST',
      url: `/compute/v1/projects/operator-project/zones/${ZONE}/instances`,
      headers: { authorization: `Bearer ${token}` },
      payload: {
        name: 'vm1',
        serviceAccounts: [{ email: SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
        metadata: { items: [{ key: 'tee-image-reference', value: '127.0.0.1:8080/p/r/i:v1' }] },
        disks: [
          {
            boot: true,
            initializeParams: {
              sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space',
            },
          },
        ],
        confidentialInstanceConfig: { enableConfidentialCompute: true },
        shieldedInstanceConfig: { enableSecureBoot: true },
        scheduling: { onHostMaintenance: 'TERMINATE' },
      },
    });
    assert.equal(created.statusCode, 200, created.body);
    const status = async () => {
      const res = await b.app.inject({
        method: 'GET',
        url: `/compute/v1/projects/operator-project/zones/${ZONE}/instances/vm1`,
        headers: { authorization: `Bearer ${token}` },
      });
      return JSON.parse(res.body).status as string;
    };
    for (let i = 0; i < 50 && (await status()) !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await status(), 'RUNNING');

    // Replica b starts while a lives: a's instance is not b's to end.
    await b.module.start?.();
    assert.equal(await status(), 'RUNNING', 'a live replica’s instance survives another replica’s start');
    assert.equal(await b.module.instances.recover({ isRunnerAlive: (r) => b.leases.isHeld(`compute-runner:${r}`) }), 0);

    // Stopping it through b while a runs it fails as retryable, and changes nothing.
    const stop = await b.app.inject({
      method: 'POST',
      url: `/compute/v1/projects/operator-project/zones/${ZONE}/instances/vm1/stop`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(stop.statusCode, 503, stop.body);
    assert.equal(await status(), 'RUNNING');

    // Replica a is lost (its lease is no longer renewed): the sweep ends its instance.
    clock.advance(60_000);
    await b.leases.acquire('compute-runner:replica-b', 10_000);
    const recovered = await b.module.instances.recover({
      isRunnerAlive: (r) => b.leases.isHeld(`compute-runner:${r}`),
    });
    assert.equal(recovered, 1);
    assert.equal(await status(), 'TERMINATED');
  } finally {
    await b.module.stop?.();
    await a.module.stop?.();
    await a.app.close();
    await b.app.close();
    await t.close();
  }
});
