// The host's side of a launcher's certification: the platform CA's key never crosses the channel, each
// certificate names the instance the host booted, and a TPM enrolment's challenge is single use.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type AkEnroller,
  TPM_RH,
  type TpmDevice,
  createPlatformCa,
  enrolAttestationKey,
  gceAkTemplateEcc,
  openTpm,
  readInstanceInfo,
} from '@sealroom/attest';
import { SWTPM_AVAILABLE, type Swtpm, startSwtpm } from '@sealroom/attest/testing';
import type { BootRequest } from './host-agent.ts';
import { type LauncherCertification, createLauncherCertification } from './launcher-certification.ts';
import type { PlatformKind } from './platforms.ts';

const NOW = Date.UTC(2026, 5, 1);
const REQUEST = {
  instanceId: '4242',
  name: 'vm1',
  zone: 'us-central1-a',
  projectId: 'p',
  projectNumber: '12',
} as BootRequest;

const ca = createPlatformCa(NOW);
const pkcs8 = ca.exportPrivateKey();

/** Every answer the launcher gets: none holds the CA's key, none parses as a private key. */
function assertNoPrivateKey(answer: unknown): void {
  const text = JSON.stringify(answer);
  assert.ok(!text.includes(pkcs8.toString('base64')));
  assert.doesNotMatch(text, /PRIVATE KEY/);
  const strings = typeof answer === 'string' ? [answer] : Object.values(answer as Record<string, unknown>);
  for (const value of strings) {
    const bytes = Buffer.from(String(value), 'base64');
    assert.equal(bytes.indexOf(pkcs8.subarray(-32)), -1);
    assert.throws(() => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }));
  }
}

function refusedWith(code: string) {
  return (error: unknown) => (error as { code?: string }).code === code;
}

const spki = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  key.export({ type: 'spki', format: 'der' }).toString('base64');

describe('certifyIdentity', () => {
  const certification = createLauncherCertification({ platformCa: () => ca, clock: { now: () => NOW } });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

  it('certifies a sev-snp or tdx identity key for the instance the host booted, with no private key', async () => {
    for (const kind of ['sev-snp', 'tdx'] as const) {
      const answer = await certification.answer('certifyIdentity', { spki: spki(key) }, REQUEST, kind);
      assertNoPrivateKey(answer);
      const cert = new X509Certificate(Buffer.from(answer as string, 'base64'));
      assert.ok(cert.publicKey.equals(key));
      assert.ok(cert.verify(new X509Certificate(ca.certificate).publicKey));
      assert.equal(readInstanceInfo(cert.raw)?.instanceId, '4242');
    }
  });

  it('refuses another instance, and the platforms whose key is not an identity key', async () => {
    await assert.rejects(
      certification.answer('certifyIdentity', { spki: spki(key), instanceId: '1' }, REQUEST, 'sev-snp'),
      refusedWith('ERR_COMPUTE_HOST_DENIED'),
    );
    for (const kind of ['soft', 'tpm'] as const)
      await assert.rejects(
        certification.answer('certifyIdentity', { spki: spki(key) }, REQUEST, kind),
        refusedWith('ERR_COMPUTE_HOST_DENIED'),
      );
  });
});

describe('a TPM enrolment split across the channel, on swtpm', { skip: SWTPM_AVAILABLE ? false : 'no swtpm' }, () => {
  let swtpm: Swtpm;
  let tpm: TpmDevice;
  let ak: { handle: number; publicArea: Buffer };
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

  /** The launcher's enroller over the host's answers; `tamper` changes what the TPM recovered. */
  const enroller =
    (
      certification: LauncherCertification,
      seen: unknown[],
      { instanceId = REQUEST.instanceId, kind = 'tpm' as PlatformKind, tamper = (b: Buffer) => b } = {},
    ): AkEnroller =>
    async (ekPublicArea, akPublicArea) => {
      const challenge = (await certification.answer(
        'akChallenge',
        { ekPublicArea: ekPublicArea.toString('base64'), akPublicArea: akPublicArea.toString('base64'), instanceId },
        REQUEST,
        kind,
      )) as { id: string; credentialBlob: string; secret: string };
      seen.push(challenge);
      return {
        credentialBlob: Buffer.from(challenge.credentialBlob, 'base64'),
        secret: Buffer.from(challenge.secret, 'base64'),
        complete: async (recovered) => {
          const args = { id: challenge.id, recovered: tamper(recovered).toString('base64') };
          try {
            const answer = await certification.answer('akComplete', args, REQUEST, kind);
            seen.push(answer);
            return Buffer.from(answer as string, 'base64');
          } finally {
            // Single use: the same answer again is refused, whatever the first got.
            await assert.rejects(
              certification.answer('akComplete', args, REQUEST, kind),
              refusedWith('ERR_COMPUTE_HOST_DENIED'),
            );
          }
        },
      };
    };

  const enrol = (ca: AkEnroller) =>
    enrolAttestationKey({
      tpm,
      ca,
      akHandle: ak.handle,
      akPublicArea: ak.publicArea,
      // What the launcher would claim: the host's certificate ignores it.
      instance: { ...REQUEST, instanceName: 'other', instanceId: '1', securityVersion: '0', isProduction: true },
      nowMs: NOW,
    });

  it('certifies the AK the TPM activated for, naming the host’s instance; no answer holds a private key', async () => {
    const certification = createLauncherCertification({ platformCa: () => ca, clock: { now: () => NOW } });
    const seen: unknown[] = [];
    const { certificate } = await enrol(enroller(certification, seen));
    assert.equal(seen.length, 2);
    for (const answer of seen) assertNoPrivateKey(answer);
    const cert = new X509Certificate(certificate);
    assert.ok(cert.verify(new X509Certificate(ca.certificate).publicKey));
    const info = readInstanceInfo(cert.raw);
    assert.equal(info?.instanceId, '4242');
    assert.equal(info?.instanceName, 'vm1');
  });

  it('refuses a wrong credential, an expired challenge, another instance and another platform', async () => {
    let now = NOW;
    const certification = createLauncherCertification({ platformCa: () => ca, clock: { now: () => now } });
    const flip = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 0 ? x ^ 1 : x)));
    await assert.rejects(enrol(enroller(certification, [], { tamper: flip })), refusedWith('ERR_ATTEST_AK_ENROLMENT'));
    const late = (b: Buffer) => {
      now += 61_000;
      return b;
    };
    await assert.rejects(enrol(enroller(certification, [], { tamper: late })), refusedWith('ERR_COMPUTE_HOST_DENIED'));
    await assert.rejects(
      enrol(enroller(certification, [], { instanceId: '1' })),
      refusedWith('ERR_COMPUTE_HOST_DENIED'),
    );
    await assert.rejects(enrol(enroller(certification, [], { kind: 'soft' })), refusedWith('ERR_COMPUTE_HOST_DENIED'));
    // A remote host has no CA to begin an enrolment with.
    const remote = createLauncherCertification({
      platformCa: () => async () => Buffer.alloc(0),
      clock: { now: () => NOW },
    });
    await assert.rejects(enrol(enroller(remote, [])), refusedWith('ERR_COMPUTE_HOST_DENIED'));
  });
});
