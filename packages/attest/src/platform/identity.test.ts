// A TEE's identity key certified in another process: the certificate must be for the key made here.
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { it } from 'node:test';
import { AttestError } from '../errors.ts';
import { readInstanceInfo } from '../x509/instance-info.ts';
import { createInstanceIdentity } from './identity.ts';
import { createPlatformCa } from './platform-ca.ts';

const NOW = Date.UTC(2026, 5, 1);
const INSTANCE = { zone: 'us-central1-a', projectId: 'p', projectNumber: '1', instanceName: 'vm1', instanceId: '7' };
const ca = createPlatformCa(NOW);

it('an asynchronous certifier certifies the identity key; its certificate is kept', async () => {
  let asked: string | undefined;
  const identity = await createInstanceIdentity({
    ca: async (key, instance) => {
      asked = instance.instanceId;
      return ca.issueAkCertificate(key, { ...instance, securityVersion: '0', isProduction: true }, NOW);
    },
    instance: INSTANCE,
    nowMs: NOW,
  });
  assert.equal(asked, '7');
  const cert = new X509Certificate(identity.certificate);
  assert.deepEqual(cert.publicKey.export({ type: 'spki', format: 'der' }), identity.spki);
  assert.equal(readInstanceInfo(cert.raw)?.instanceId, '7');
  // Read once per certificate: the same bytes (another copy) give the kept, frozen identity.
  const info = readInstanceInfo(cert.raw);
  assert.equal(readInstanceInfo(Buffer.from(cert.raw)), info);
  assert.ok(Object.isFrozen(info));
  const other = await createInstanceIdentity({
    ca: async (key, instance) =>
      ca.issueAkCertificate(key, { ...instance, securityVersion: '0', isProduction: true }, NOW),
    instance: { ...INSTANCE, instanceId: '8' },
    nowMs: NOW,
  });
  assert.equal(readInstanceInfo(other.certificate)?.instanceId, '8');
  assert.equal(readInstanceInfo(ca.certificate), undefined, 'a certificate without the extension has none, kept too');
  assert.equal(readInstanceInfo(ca.certificate), undefined);
});

it('a certificate for another key, or no certificate, fails the boot', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const refused = (error: unknown) => error instanceof AttestError && error.code === 'ERR_ATTEST_PLATFORM';
  await assert.rejects(
    createInstanceIdentity({
      ca: async (_key, instance) =>
        ca.issueAkCertificate(other, { ...instance, securityVersion: '0', isProduction: true }, NOW),
      instance: INSTANCE,
      nowMs: NOW,
    }),
    refused,
  );
  await assert.rejects(
    createInstanceIdentity({ ca: async () => Buffer.from('not a certificate'), instance: INSTANCE, nowMs: NOW }),
    refused,
  );
});
