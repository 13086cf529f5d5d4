// Secret Manager's domain on SQLite and PostgreSQL: versions, `latest`, state changes, checksums, sealing, audit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32c } from '@sealroom/core';
import { TEST_ENGINES, type TestDatabase, type TestEngine } from '@sealroom/postgres/testing';
import { createSecretManager } from './service.ts';
import { createSecretsTestBed, userCaller } from './testing.ts';

const admin = userCaller('admin@example.com');
const reader = userCaller('reader@example.com');
const SECRET = 'projects/111111111111/secrets/db-password';
const ADMIN_PERMISSIONS = [
  'secretmanager.secrets.create',
  'secretmanager.secrets.get',
  'secretmanager.secrets.list',
  'secretmanager.secrets.update',
  'secretmanager.secrets.delete',
  'secretmanager.versions.add',
  'secretmanager.versions.get',
  'secretmanager.versions.list',
  'secretmanager.versions.access',
  'secretmanager.versions.enable',
  'secretmanager.versions.disable',
  'secretmanager.versions.destroy',
];

/** The engine the running suite is on; each setup() gets a fresh database of it. */
let engine = TEST_ENGINES[0] as TestEngine;
const opened: TestDatabase[] = [];

async function setup(database?: TestDatabase) {
  const t = database ?? (await engine.open());
  if (!database) opened.push(t);
  const bed = await createSecretsTestBed({ db: t.db });
  for (const p of ADMIN_PERMISSIONS) bed.grant(admin.principal, p, 'projects/111111111111');
  const sm = createSecretManager(bed.deps);
  await sm.createSecret(admin, 'projects/proj-a', 'db-password', { labels: {}, annotations: {} });
  return { ...bed, sm };
}

const payload = (text: string, crc?: number) => ({ data: Buffer.from(text), dataCrc32c: crc });

for (const suiteEngine of TEST_ENGINES) {
  describe(`secret manager on ${suiteEngine.name}`, { skip: suiteEngine.skip }, () => {
    before(() => {
      engine = suiteEngine;
    });
    after(async () => {
      for (const t of opened.splice(0)) await t.cleanup();
    });

    it('names secrets with the project number even when created by project id', async () => {
      const { sm } = await setup();
      assert.equal((await sm.getSecret(admin, 'projects/proj-a/secrets/db-password')).name, SECRET);
    });

    it('adds versions and resolves latest to the newest one', async () => {
      const { sm } = await setup();
      const v1 = await sm.addVersion(admin, SECRET, payload('one', crc32c(Buffer.from('one'))));
      assert.equal(v1.clientSpecifiedPayloadChecksum, true);
      await sm.addVersion(admin, SECRET, payload('two'));
      const latest = await sm.accessVersion(admin, `${SECRET}/versions/latest`);
      assert.equal(latest.name, `${SECRET}/versions/2`);
      assert.equal(latest.data.toString(), 'two');
      assert.equal(latest.dataCrc32c, crc32c(Buffer.from('two')));
      assert.equal((await sm.accessVersion(admin, `${SECRET}/versions/1`)).data.toString(), 'one');
    });

    it('refuses a payload whose CRC32C does not match, and one over 64 KiB', async () => {
      const { sm } = await setup();
      await assert.rejects(sm.addVersion(admin, SECRET, payload('x', 1)), { code: 'ERR_SECRETS_CHECKSUM_MISMATCH' });
      await sm.addVersion(admin, SECRET, { data: Buffer.alloc(65_536), dataCrc32c: undefined });
      await assert.rejects(sm.addVersion(admin, SECRET, { data: Buffer.alloc(65_537), dataCrc32c: undefined }), {
        code: 'ERR_SECRETS_PAYLOAD_TOO_LARGE',
      });
    });

    it('refuses access to disabled and destroyed versions, and re-enables a disabled one', async () => {
      const { sm } = await setup();
      await sm.addVersion(admin, SECRET, payload('one'));
      const name = `${SECRET}/versions/1`;
      await sm.disableVersion(admin, name);
      await assert.rejects(sm.accessVersion(admin, name), {
        code: 'ERR_SECRETS_VERSION_STATE',
        message: `Secret Version [${name}] is in DISABLED state.`,
      });
      await sm.enableVersion(admin, name);
      assert.equal((await sm.accessVersion(admin, name)).data.toString(), 'one');
      const destroyed = await sm.destroyVersion(admin, name);
      assert.equal(destroyed.state, 'DESTROYED');
      assert.equal((await sm.getVersion(admin, name)).sealedPayload, undefined);
      await assert.rejects(sm.accessVersion(admin, name), { message: /DESTROYED state/ });
      await assert.rejects(sm.enableVersion(admin, name), { code: 'ERR_SECRETS_VERSION_STATE' });
    });

    it('answers NOT_FOUND for latest of a secret without versions', async () => {
      const { sm } = await setup();
      await assert.rejects(sm.accessVersion(admin, `${SECRET}/versions/latest`), { code: 'ERR_NOT_FOUND' });
    });

    it('lets a secretAccessor access but not add, and audits the denial without the payload', async () => {
      const { sm, grant, audit } = await setup();
      await sm.addVersion(admin, SECRET, payload('hunter2'));
      grant(reader.principal, 'secretmanager.versions.access', SECRET);
      assert.equal((await sm.accessVersion(reader, `${SECRET}/versions/latest`)).data.toString(), 'hunter2');
      await assert.rejects(sm.addVersion(reader, SECRET, payload('x')), {
        message: `Permission 'secretmanager.versions.add' denied on resource '${SECRET}' (or it may not exist).`,
      });
      const denied = audit.filter((a) => a.outcome === 'DENIED');
      assert.equal(denied.length, 1);
      assert.equal(denied[0]?.caller?.principal, reader.principal);
      assert.ok(audit.some((a) => a.method.endsWith('AccessSecretVersion') && a.outcome === 'ALLOWED'));
      assert.ok(!JSON.stringify(audit).includes('hunter2'));
    });

    it('stores payloads only sealed', async () => {
      const { sm, db } = await setup();
      await sm.addVersion(admin, SECRET, payload('plain-secret-value'));
      const rows = await db.all('SELECT sealed_payload FROM secrets_versions');
      assert.equal(rows.length, 1);
      assert.ok(
        !Buffer.from(rows[0]?.sealed_payload as Uint8Array)
          .toString('latin1')
          .includes('plain-secret-value'),
      );
    });

    it('refuses a duplicate secret with ALREADY_EXISTS', async () => {
      const { sm } = await setup();
      await assert.rejects(sm.createSecret(admin, 'projects/proj-a', 'db-password', { labels: {}, annotations: {} }), {
        code: 'ERR_ALREADY_EXISTS',
      });
    });

    it('lists versions newest first with page tokens, and deletes a secret with its versions', async () => {
      const { sm } = await setup();
      for (const t of ['a', 'b', 'c']) await sm.addVersion(admin, SECRET, payload(t));
      const first = await sm.listVersions(admin, SECRET, 2, undefined);
      assert.deepEqual(
        first.items.map((v) => v.versionId),
        [3, 2],
      );
      const second = await sm.listVersions(admin, SECRET, 2, first.nextPageToken);
      assert.deepEqual(
        second.items.map((v) => v.versionId),
        [1],
      );
      await sm.deleteSecret(admin, SECRET);
      await assert.rejects(sm.getSecret(admin, SECRET), { code: 'ERR_NOT_FOUND' });
    });
    it('numbers versions added on two replicas at once without a gap or a repeat', async () => {
      const t = await engine.open();
      opened.push(t);
      const a = await setup(t);
      const bedB = await createSecretsTestBed({ db: await t.openAnother(), sealer: a.deps.sealer });
      for (const p of ADMIN_PERMISSIONS) bedB.grant(admin.principal, p, 'projects/111111111111');
      const b = createSecretManager(bedB.deps);
      const added = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a.sm : b).addVersion(admin, SECRET, payload(`v${i}`))),
      );
      assert.deepEqual(
        added.map((v) => Number(v.name.split('/').pop())).sort((x, y) => x - y),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
    });
  });
}
