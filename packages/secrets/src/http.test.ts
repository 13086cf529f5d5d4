// Secret Manager REST routes over the real iam layer: create, add, access `latest`, IAM, refusals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32c } from '@sealroom/core';
import { createIamTestContext, type IamTestContext } from '@sealroom/iam/testing';
import { buildRestApp } from '@sealroom/transport';
import { createSecretsService } from './module.ts';

describe('secret manager REST routes', () => {
  let t: IamTestContext;
  let app: Awaited<ReturnType<typeof buildRestApp>>;
  let owner: { authorization: string };
  let reader: { authorization: string };
  let secret: string;
  before(async () => {
    t = await createIamTestContext();
    const o = await t.createUser('owner@example.com');
    const r = await t.createUser('reader@example.com');
    owner = { authorization: `Bearer ${o.accessToken}` };
    reader = { authorization: `Bearer ${r.accessToken}` };
    const project = await t.createProject('proj-a', 'owner@example.com');
    secret = `projects/${project.projectNumber}/secrets/api-key`;
    const module = await createSecretsService(t.context);
    app = await buildRestApp({ routes: module.routes, authenticator: t.context.authenticator, logger: t.logger });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/projects/proj-a/secrets?secretId=api-key',
      headers: owner,
      payload: { replication: { automatic: {} }, labels: { team: 'a' } },
    });
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.json().name, secret);
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const addVersion = (text: string, crc?: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/projects/proj-a/secrets/api-key:addVersion`,
      headers: owner,
      payload: { payload: { data: Buffer.from(text).toString('base64'), ...(crc ? { dataCrc32c: crc } : {}) } },
    });

  it('adds versions with a checked CRC32C and refuses a wrong one', async () => {
    const ok = await addVersion('s3cret-1', String(crc32c(Buffer.from('s3cret-1'))));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().name, `${secret}/versions/1`);
    assert.equal(ok.json().state, 'ENABLED');
    assert.equal(ok.json().clientSpecifiedPayloadChecksum, true);
    const bad = await addVersion('s3cret-x', '12345');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.details[0].reason, 'ERR_SECRETS_CHECKSUM_MISMATCH');
  });

  it('lets a secretAccessor read latest with its checksum, and refuses others like a missing secret', async () => {
    await addVersion('s3cret-2');
    const denied = await app.inject({ method: 'GET', url: `/v1/${secret}/versions/latest:access`, headers: reader });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().error.message, /secretmanager\.versions\.access.*\(or it may not exist\)/);
    const policy = (await app.inject({ method: 'GET', url: `/v1/${secret}:getIamPolicy`, headers: owner })).json();
    const set = await app.inject({
      method: 'POST',
      url: `/v1/${secret}:setIamPolicy`,
      headers: owner,
      payload: {
        policy: {
          etag: policy.etag,
          bindings: [{ role: 'roles/secretmanager.secretAccessor', members: ['user:reader@example.com'] }],
        },
      },
    });
    assert.equal(set.statusCode, 200, set.body);
    const got = await app.inject({
      method: 'GET',
      url: `/v1/projects/proj-a/secrets/api-key/versions/latest:access`,
      headers: reader,
    });
    assert.equal(got.statusCode, 200, got.body);
    assert.equal(Buffer.from(got.json().payload.data, 'base64').toString(), 's3cret-2');
    assert.equal(got.json().payload.dataCrc32c, String(crc32c(Buffer.from('s3cret-2'))));
    assert.match(got.json().name, /\/versions\/\d+$/);
    const add = await app.inject({
      method: 'POST',
      url: `/v1/${secret}:addVersion`,
      headers: reader,
      payload: { payload: { data: 'eA==' } },
    });
    assert.equal(add.statusCode, 403);
  });

  it('answers FAILED_PRECONDITION for a disabled version and 404 for a missing one', async () => {
    await t.grant(secret, 'roles/secretmanager.secretAccessor', 'user:owner@example.com');
    const v = (await addVersion('to-disable')).json().name as string;
    const disabled = await app.inject({ method: 'POST', url: `/v1/${v}:disable`, headers: owner, payload: {} });
    assert.equal(disabled.json().state, 'DISABLED');
    const access = await app.inject({ method: 'GET', url: `/v1/${v}:access`, headers: owner });
    assert.equal(access.statusCode, 400);
    assert.equal(access.json().error.status, 'FAILED_PRECONDITION');
    assert.equal(access.json().error.message, `Secret Version [${v}] is in DISABLED state.`);
    const missing = await app.inject({ method: 'GET', url: `/v1/${secret}/versions/99`, headers: owner });
    assert.equal(missing.statusCode, 404);
  });

  it('lists secrets and versions and destroys a version', async () => {
    const list = (await app.inject({ method: 'GET', url: '/v1/projects/proj-a/secrets', headers: owner })).json();
    assert.deepEqual(
      list.secrets.map((s: { name: string }) => s.name),
      [secret],
    );
    assert.deepEqual(list.secrets[0].labels, { team: 'a' });
    const destroyed = await app.inject({
      method: 'POST',
      url: `/v1/${secret}/versions/1:destroy`,
      headers: owner,
      payload: {},
    });
    assert.equal(destroyed.json().state, 'DESTROYED');
    assert.ok(destroyed.json().destroyTime);
    const versions = (await app.inject({ method: 'GET', url: `/v1/${secret}/versions`, headers: owner })).json();
    assert.equal(versions.versions.at(-1).state, 'DESTROYED');
  });
});
