// AK enrolment against swtpm: MakeCredential in TypeScript, ActivateCredential in the TPM, and the refusals.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AttestError } from '../errors.ts';
import { TPM_ALG } from '../tpm/constants.ts';
import { kdfa } from '../tpm/credential.ts';
import { TPM_RH, type TpmDevice, openTpm } from '../tpm/device.ts';
import { fromPublicKey, encodeTpmPublic, parseTpmPublic } from '../tpm/public.ts';
import { readInstanceInfo } from '../x509/instance-info.ts';
import { beginAkEnrolment, ekTemplate, enrolAttestationKey } from './ak-enrolment.ts';
import { createPlatformCa } from './platform-ca.ts';
import { SWTPM_AVAILABLE, type Swtpm, startSwtpm } from './swtpm-test-support.ts';
import { gceAkTemplateEcc } from './tpm.ts';

const NOW = Date.UTC(2026, 5, 1);
const INSTANCE = {
  zone: 'us-central1-a',
  projectId: 'p',
  projectNumber: '1',
  instanceName: 'vm1',
  instanceId: '7',
  securityVersion: '0',
  isProduction: true,
};

function refusedWith(code: string) {
  return (error: unknown) => error instanceof AttestError && error.code === code;
}

it('KDFa gives the SP 800-108 counter-mode output over HMAC (a second block continues the counter)', () => {
  const key = Buffer.alloc(32, 7);
  const one = (i: number) =>
    createHmac('sha256', key)
      .update(Buffer.from([0, 0, 0, i]))
      .update(Buffer.from('STORAGE\0'))
      .update(Buffer.from('ctx'))
      .update(Buffer.from([0, 0, 1, 0]))
      .digest();
  assert.deepEqual(kdfa(TPM_ALG.SHA256, key, 'STORAGE', Buffer.from('ctx'), Buffer.alloc(0), 256), one(1));
  const long = kdfa(TPM_ALG.SHA256, key, 'STORAGE', Buffer.from('ctx'), Buffer.alloc(0), 384);
  assert.equal(long.length, 48);
});

describe('AK enrolment on swtpm', { skip: SWTPM_AVAILABLE ? false : 'swtpm is not installed' }, () => {
  let swtpm: Swtpm;
  let tpm: TpmDevice;
  let ak: { handle: number; publicArea: Buffer };
  const ca = createPlatformCa(NOW);
  before(async () => {
    swtpm = await startSwtpm();
    tpm = await openTpm(swtpm.address);
    await tpm.startup();
    ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, gceAkTemplateEcc());
  });
  after(async () => {
    await tpm?.flush(ak.handle).catch(() => undefined);
    await tpm?.close();
    await swtpm?.stop();
  });

  for (const kind of ['rsa', 'ecc'] as const) {
    it(`certifies the AK once the TPM activates the credential under its ${kind.toUpperCase()} EK`, async () => {
      const { certificate, ekPublicArea } = await enrolAttestationKey({
        tpm,
        ca,
        akHandle: ak.handle,
        akPublicArea: ak.publicArea,
        instance: INSTANCE,
        nowMs: NOW,
        ekTemplate: ekTemplate(kind),
      });
      assert.equal(parseTpmPublic(ekPublicArea).type, kind === 'rsa' ? TPM_ALG.RSA : TPM_ALG.ECC);
      assert.equal(readInstanceInfo(certificate)?.instanceName, 'vm1');
    });
  }

  it('refuses an AK that is not in this TPM: the credential names another key', async () => {
    // The CA is asked about a software key; the TPM's AK cannot activate a credential made for that name.
    const foreign = encodeTpmPublic(fromPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
    const ek = await tpm.createPrimary(TPM_RH.ENDORSEMENT, ekTemplate('rsa'));
    try {
      const challenge = beginAkEnrolment(ca, ek.publicArea, foreign);
      const session = await tpm.startPolicySession();
      await tpm.policySecretEndorsement(session);
      await assert.rejects(
        tpm.activateCredential(ak.handle, ek.handle, session, challenge.credentialBlob, challenge.secret),
        refusedWith('ERR_ATTEST_TPM_DEVICE'),
      );
      await tpm.flush(session).catch(() => undefined);
      // And a made-up answer does not get a certificate either.
      assert.throws(() => challenge.complete(Buffer.alloc(32), INSTANCE, NOW), refusedWith('ERR_ATTEST_AK_ENROLMENT'));
    } finally {
      await tpm.flush(ek.handle);
    }
  });

  it('refuses an EK that is not this TPM’s: the TPM cannot recover the seed', async () => {
    const softEk = ekTemplate('rsa');
    const parsed = parseTpmPublic(softEk);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const otherEk = encodeTpmPublic({ ...parsed, modulus: Buffer.from(jwk.n!, 'base64url') } as typeof parsed);
    await assert.rejects(
      enrolAttestationKey({
        tpm: {
          ...tpm,
          createPrimary: async (hierarchy: number, template: Uint8Array) => {
            const real = await tpm.createPrimary(hierarchy, template);
            // The CA is shown another EK's public area than the TPM's own.
            return { handle: real.handle, publicArea: otherEk };
          },
          startPolicySession: () => tpm.startPolicySession(),
          policySecretEndorsement: (s: number) => tpm.policySecretEndorsement(s),
          activateCredential: (...args: Parameters<TpmDevice['activateCredential']>) => tpm.activateCredential(...args),
          flush: (h: number) => tpm.flush(h),
        } as unknown as TpmDevice,
        ca,
        akHandle: ak.handle,
        akPublicArea: ak.publicArea,
        instance: INSTANCE,
        nowMs: NOW,
      }),
      refusedWith('ERR_ATTEST_AK_ENROLMENT'),
    );
  });

  it('refuses to enrol a key that is not an attestation key, or under a key that is not an EK', () => {
    assert.throws(
      () => beginAkEnrolment(ca, ekTemplate('rsa'), ekTemplate('rsa')),
      refusedWith('ERR_ATTEST_AK_ATTRIBUTES'),
    );
    assert.throws(() => beginAkEnrolment(ca, ak.publicArea, ak.publicArea), refusedWith('ERR_ATTEST_AK_ENROLMENT'));
  });
});
