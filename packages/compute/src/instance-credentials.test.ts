// The metadata server's access tokens: cached per account, and an account recreated under the same email gets none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIamTestContext } from '@sealroom/iam/testing';
import { createInstanceCredentials } from './module.ts';

test('an account deleted and created again under the same email gets a new token, and the old one stops', async () => {
  const t = await createIamTestContext();
  try {
    await t.createUser('owner@example.com');
    const project = await t.createProject('vm-project', 'owner@example.com');
    const accounts = t.deps.serviceAccounts;
    const first = await accounts.create(project, 'workload', '', '');
    const credentials = createInstanceCredentials(t.context);
    const token = await credentials.accessToken(first.email);
    assert.equal(await credentials.accessToken(first.email), token, 'cached while the account lives');
    assert.equal((await t.context.authenticator.authenticate(token)).principal, `serviceAccount:${first.email}`);

    await accounts.delete(first);
    await assert.rejects(credentials.accessToken(first.email), { code: 'ERR_COMPUTE_SERVICE_ACCOUNT' });
    const second = await accounts.create(project, 'workload', '', '');
    assert.equal(second.email, first.email);
    assert.notEqual(second.uniqueId, first.uniqueId);
    const fresh = await credentials.accessToken(second.email);
    assert.notEqual(fresh, token, 'the new account does not inherit the old one’s cached token');
    assert.equal((await t.context.authenticator.authenticate(fresh)).principal, `serviceAccount:${second.email}`);
    await assert.rejects(t.context.authenticator.authenticate(token), { code: 'ERR_UNAUTHENTICATED' });

    await accounts.setDisabled(second, true);
    await assert.rejects(credentials.accessToken(second.email), { code: 'ERR_COMPUTE_SERVICE_ACCOUNT' });
  } finally {
    await t.close();
  }
});
