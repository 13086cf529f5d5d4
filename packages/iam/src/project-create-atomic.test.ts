// Creating a project writes the project and its owner policy together: a failure of either leaves nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRestApp } from '@sealroom/transport';
import { createIamTestContext } from './testing.ts';

test('a project whose owner policy cannot be written is not created, and its id stays free', async () => {
  const t = await createIamTestContext();
  try {
    const alice = await t.createUser('alice@example.com');
    const app = await buildRestApp({
      routes: t.iam.module.routes,
      authenticator: t.context.authenticator,
      logger: t.logger,
    });
    const create = () =>
      app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
        payload: { projectId: 'half-written' },
      });
    // The database refuses the policy row, as a failing disk would refuse the second write.
    await t.context.db.run(
      "CREATE TRIGGER refuse_policy BEFORE INSERT ON iam_policies BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    );
    const failed = await create();
    assert.ok(failed.statusCode >= 500, failed.body);
    assert.equal(failed.body.includes('injected'), false, 'the cause stays in the log');
    assert.deepEqual(
      await t.context.db.all("SELECT project_id FROM rm_projects WHERE project_id = 'half-written'"),
      [],
    );
    assert.equal(await t.deps.projects.resolve('half-written'), undefined);

    await t.context.db.run('DROP TRIGGER refuse_policy');
    const created = await create();
    assert.equal(created.statusCode, 200, created.body);
    const number = created.json().response.projectNumber as string;
    assert.deepEqual((await t.deps.policies.get(`projects/${number}`)).bindings, [
      { role: 'roles/owner', members: ['user:alice@example.com'] },
    ]);
    await app.close();
  } finally {
    await t.close();
  }
});
