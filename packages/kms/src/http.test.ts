// KMS REST routes in-process: Google's error bodies, REST-fallback quirks, limits, federated callers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type KmsHarness, startKmsHarness } from './testing.ts';

const LOCATION = 'projects/proj-a/locations/global';
const RING = `${LOCATION}/keyRings/ring`;
const KEY = `${RING}/cryptoKeys/key`;
const POOL = 'projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/collab';

describe('kms REST routes', () => {
  let h: KmsHarness;
  let auth: { authorization: string };
  let pool: string;
  before(async () => {
    h = await startKmsHarness({ listen: false });
    auth = { authorization: `Bearer ${h.owner.accessToken}` };
    const project = await h.t.deps.projects.get('proj-a');
    pool = POOL.replace('PROJECT_NUMBER', project?.projectNumber ?? '');
    const ring = await h.app.inject({
      method: 'POST',
      url: `/v1/${LOCATION}/keyRings?keyRingId=ring&$alt=json%3Benum-encoding%3Dint`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '""',
    });
    assert.equal(ring.statusCode, 200, ring.body);
    const key = await h.app.inject({
      method: 'POST',
      url: `/v1/${RING}/cryptoKeys?cryptoKeyId=key&$alt=json%3Benum-encoding%3Dint`,
      headers: auth,
      payload: { purpose: 1, versionTemplate: { protectionLevel: 1, algorithm: 1 } },
    });
    assert.equal(key.statusCode, 200, key.body);
    await h.t.grant(KEY, 'roles/cloudkms.cryptoKeyEncrypter', `user:${h.owner.email}`);
  });
  after(() => h.close());

  const post = (url: string, payload: unknown, headers = auth) =>
    h.app.inject({ method: 'POST', url, headers, payload: payload as string });

  it('answers a key ring create with its name and RFC 3339 createTime, and a duplicate with 409', async () => {
    const again = await post(`/v1/${LOCATION}/keyRings?keyRingId=ring`, '""');
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.status, 'ALREADY_EXISTS');
    const got = await h.app.inject({ method: 'GET', url: `/v1/${RING}`, headers: auth });
    assert.equal(got.json().name, RING);
    assert.match(got.json().createTime, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('describes a key in camelCase with enum names, durations and the primary version', async () => {
    const got = (await h.app.inject({ method: 'GET', url: `/v1/${KEY}`, headers: auth })).json();
    assert.equal(got.purpose, 'ENCRYPT_DECRYPT');
    assert.deepEqual(got.versionTemplate, { protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' });
    assert.equal(got.primary.name, `${KEY}/cryptoKeyVersions/1`);
    assert.equal(got.primary.state, 'ENABLED');
    assert.equal(got.destroyScheduledDuration, '2592000s');
  });

  it('returns int64 checksums as strings and the ciphertext in standard base64', async () => {
    const res = await post(`/v1/${KEY}:encrypt`, {
      plaintext: Buffer.from('abc').toString('base64'),
      plaintextCrc32c: '910901175',
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(typeof body.ciphertextCrc32c, 'string');
    assert.equal(body.verifiedPlaintextCrc32c, true);
    assert.match(body.ciphertext, /^[A-Za-z0-9+/]+=*$/);
  });

  it('refuses a wrong checksum with the documented INVALID_ARGUMENT message', async () => {
    const res = await post(`/v1/${KEY}:encrypt`, { plaintext: 'YWJj', plaintextCrc32c: '1' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.status, 'INVALID_ARGUMENT');
    assert.equal(
      res.json().error.message,
      'The checksum in field plaintext_crc32c did not match the data in field plaintext.',
    );
  });

  it('accepts 64 KiB of plaintext and refuses 64 KiB + 1 with 400', async () => {
    const ok = await post(`/v1/${KEY}:encrypt`, { plaintext: Buffer.alloc(65_536).toString('base64') });
    assert.equal(ok.statusCode, 200);
    const big = await post(`/v1/${KEY}:encrypt`, { plaintext: Buffer.alloc(65_537).toString('base64') });
    assert.equal(big.statusCode, 400);
    assert.equal(big.json().error.details[0].reason, 'ERR_KMS_PLAINTEXT_TOO_LARGE');
  });

  it('refuses an unknown algorithm name and an unsupported one with 400', async () => {
    for (const algorithm of ['NOT_AN_ALGORITHM', 'HMAC_SHA256', 77]) {
      const res = await post(`/v1/${RING}/cryptoKeys?cryptoKeyId=bad`, {
        purpose: 'ASYMMETRIC_SIGN',
        versionTemplate: { algorithm },
      });
      assert.equal(res.statusCode, 400, String(algorithm));
    }
  });

  it('answers 401 without a token and 403 with the Google message for a missing key', async () => {
    const anonymous = await h.app.inject({ method: 'POST', url: `/v1/${KEY}:decrypt`, payload: {} });
    assert.equal(anonymous.statusCode, 401);
    const missing = await post(`/v1/${RING}/cryptoKeys/nope:decrypt`, { ciphertext: 'AAAA' });
    assert.equal(missing.statusCode, 403);
    assert.equal(
      missing.json().error.message,
      `Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '${RING}/cryptoKeys/nope' (or it may not exist).`,
    );
  });

  it('serves getIamPolicy by GET and by POST', async () => {
    const byGet = await h.app.inject({
      method: 'GET',
      url: `/v1/${KEY}:getIamPolicy?options.requestedPolicyVersion=3`,
      headers: auth,
    });
    assert.equal(byGet.statusCode, 200, byGet.body);
    const byPost = await post(`/v1/${KEY}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
    assert.equal(byPost.statusCode, 200, byPost.body);
    assert.deepEqual(byGet.json().bindings, byPost.json().bindings);
  });

  it('lets a federated caller whose image_digest attribute matches a principalSet binding decrypt, and refuses another digest', async () => {
    const enc = await post(`/v1/${KEY}:encrypt`, { plaintext: Buffer.from('for the workload').toString('base64') });
    const ciphertext = enc.json().ciphertext as string;
    const digest = `sha256:${'d'.repeat(64)}`;
    await h.t.grant(
      KEY,
      'roles/cloudkms.cryptoKeyDecrypter',
      `principalSet://iam.googleapis.com/${pool}/attribute.image_digest/${digest}`,
    );
    const tokenFor = async (imageDigest: string, subject: string) =>
      (
        await h.t.deps.credentials.issueAccessToken({
          kind: 'federated',
          principal: `principal://iam.googleapis.com/${pool}/subject/${subject}`,
          federation: { pool, subject, attributes: { image_digest: imageDigest }, groups: [] },
          lifetimeMs: 3_600_000,
        })
      ).accessToken;
    const good = await post(
      `/v1/${KEY}:decrypt`,
      { ciphertext },
      { authorization: `Bearer ${await tokenFor(digest, 'gcpcs::good')}` },
    );
    assert.equal(good.statusCode, 200, good.body);
    assert.equal(Buffer.from(good.json().plaintext, 'base64').toString(), 'for the workload');
    const other = `sha256:${'e'.repeat(64)}`;
    const bad = await post(
      `/v1/${KEY}:decrypt`,
      { ciphertext },
      { authorization: `Bearer ${await tokenFor(other, 'gcpcs::bad')}` },
    );
    assert.equal(bad.statusCode, 403);
    assert.equal(bad.json().error.status, 'PERMISSION_DENIED');
    const number = pool.split('/')[1] as string;
    const entries = await h.t.deps.audit.list(number, { pageSize: 1000 });
    const denial = entries.find((e) => JSON.stringify(e.body).includes('gcpcs::bad'));
    assert.ok(denial, 'the refused federated caller is in the audit log');
    assert.match(JSON.stringify(denial.body), new RegExp(other));
    assert.ok(!JSON.stringify(entries).includes(Buffer.from('for the workload').toString('base64')));
    assert.ok(!JSON.stringify(entries).includes('for the workload'));
    const serverLog = JSON.stringify(h.t.logger.entries);
    assert.ok(!serverLog.includes('for the workload') && !serverLog.includes(ciphertext));
  });
});
