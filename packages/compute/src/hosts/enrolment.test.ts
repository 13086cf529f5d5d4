// Host enrolment: administrators only, tokens single use and expiring, a certificate from the deployment CA for the CSR's key.
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFakeClock } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
import { createCertificateRequest, parseCertificateRequest } from './csr.ts';
import { certificateFingerprint, createHostEnrolment } from './enrolment.ts';
import { openSqlHostStore } from './store.ts';

async function setup() {
  const clock = createFakeClock(Date.now());
  const t = await createIamTestContext({ clock });
  const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-enrolment-'));
  const context = { ...t.context, settings: { ...t.context.settings, stateDir } };
  const store = await openSqlHostStore(t.context.db);
  const joined: string[] = [];
  const enrolment = createHostEnrolment(context, store, (host) => joined.push(host.name));
  await t.deps.credentials.ensureUser('root@example.com', 'dev', true);
  const admin = (await t.createUser('root@example.com')).caller;
  const user = (await t.createUser('alice@example.com')).caller;
  const csr = (name: string) =>
    createCertificateRequest(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, name);
  return {
    clock,
    store,
    enrolment,
    admin,
    user,
    csr,
    joined,
    close: async () => {
      await t.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

test('a CSR round-trips, and a tampered one is refused', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = createCertificateRequest(privateKey, 'h1');
  const parsed = parseCertificateRequest(csr);
  assert.equal(parsed.commonName, 'h1');
  assert.ok(parsed.publicKey.equals(publicKey));
  const tampered = Buffer.from(csr);
  tampered[tampered.indexOf(Buffer.from('h1')) + 1] = 0x32; // CN h1 → h2, signature unchanged
  assert.throws(() => parseCertificateRequest(tampered), { code: 'ERR_COMPUTE_HOST_CSR' });
  assert.throws(() => parseCertificateRequest(Buffer.from('not der')), { code: 'ERR_COMPUTE_HOST_CSR' });
});

test('only administrators issue tokens; a token joins one host, once, with a certificate for its key', async () => {
  const s = await setup();
  try {
    await assert.rejects(s.enrolment.createToken(s.user, 'us-central1-a', 60), { code: 'ERR_PERMISSION_DENIED' });
    await assert.rejects(s.enrolment.createToken(undefined, 'us-central1-a', 60), { code: 'ERR_PERMISSION_DENIED' });
    await assert.rejects(s.enrolment.createToken(s.admin, 'not a zone', 60), { code: 'ERR_COMPUTE_BAD_REQUEST' });
    const { token } = await s.enrolment.createToken(s.admin, 'us-central1-a', 60);
    // A malformed request does not burn the token.
    await assert.rejects(s.enrolment.join(token, Buffer.from('junk')), { code: 'ERR_COMPUTE_HOST_CSR' });
    const joined = await s.enrolment.join(token, s.csr('h1'));
    assert.equal(joined.pool, 'us-central1-a');
    const cert = new X509Certificate(joined.certificate);
    assert.ok(cert.verify(new X509Certificate(joined.caCertificate).publicKey));
    assert.match(cert.subject, /CN=h1/);
    assert.match(cert.subject, /O=Sealroom host pool us-central1-a/);
    assert.equal((await s.store.getHost('h1'))?.fingerprint, certificateFingerprint(joined.certificate));
    assert.deepEqual(s.joined, ['h1']);
    await assert.rejects(s.enrolment.join(token, s.csr('h2')), { code: 'ERR_COMPUTE_HOST_TOKEN' });
    await assert.rejects(s.enrolment.join('srh_guess', s.csr('h3')), { code: 'ERR_COMPUTE_HOST_TOKEN' });
  } finally {
    await s.close();
  }
});

test('an expired token is refused, and a name of another pool cannot be taken over', async () => {
  const s = await setup();
  try {
    const expiring = await s.enrolment.createToken(s.admin, 'us-central1-a', 30);
    s.clock.advance(30_001);
    await assert.rejects(s.enrolment.join(expiring.token, s.csr('h1')), { code: 'ERR_COMPUTE_HOST_TOKEN' });
    const a = await s.enrolment.createToken(s.admin, 'us-central1-a', 60);
    const first = await s.enrolment.join(a.token, s.csr('h1'));
    const b = await s.enrolment.createToken(s.admin, 'us-central1-b', 60);
    await assert.rejects(s.enrolment.join(b.token, s.csr('h1')), { code: 'ERR_COMPUTE_HOST_NAME' });
    const again = await s.enrolment.createToken(s.admin, 'us-central1-a', 60);
    const second = await s.enrolment.join(again.token, s.csr('h1'));
    assert.equal(await s.store.hostByFingerprint(certificateFingerprint(first.certificate)), undefined, 'replaced');
    assert.equal((await s.store.getHost('h1'))?.fingerprint, certificateFingerprint(second.certificate));
  } finally {
    await s.close();
  }
});
