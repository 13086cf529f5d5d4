import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CEL_TYPE, decodeCel, encodeCel } from '../eventlog/cel.ts';
import { COS_TYPE, encodeCosContent } from '../eventlog/cos.ts';
import { TPM_ALG, digest } from '../tpm/constants.ts';
import { verifyTpmEvidence } from '../tpm/evidence.ts';
import { createPlatformCa, loadPlatformCa } from './platform-ca.ts';
import { softBootImages, softSecureBootKeys } from './soft-firmware.ts';
import { bootSoftPlatform, softBootCmdline } from './soft.ts';
import type { SoftBootOptions } from './soft.ts';

const NOW = Date.UTC(2026, 5, 1);
/** SHA-256 of the soft platform's db certificate: verifiers on other hosts pin it in their image database. */
const SOFT_DB_KEY = '90760ecf638db3b76e9bc3cd40a8804176250a7edb44540fe12ab89860f7555e';
const fingerprint = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const ca = createPlatformCa(NOW);
const instance = {
  zone: 'us-central1-a',
  projectId: 'operator-project',
  projectNumber: '123456789012',
  instanceName: 'vm1',
  instanceId: '6920867375712861823',
};
const boot: SoftBootOptions = {
  ca,
  instance,
  launcherBuild: `sha256:${'1'.repeat(64)}`,
  imageFamily: 'confidential-space',
  nowMs: NOW,
};
const nonce = Buffer.from('0123456789abcdef0123456789abcdef');

async function launched(options: SoftBootOptions = boot) {
  const platform = bootSoftPlatform(options);
  await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_REF, 'reg/p/r/img'));
  await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_DIGEST, `sha256:${'a'.repeat(64)}`));
  await platform.measureEvent(encodeCosContent(COS_TYPE.RESTART_POLICY, 'Never'));
  await platform.measureEvent(encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, ''));
  return platform;
}

describe('soft platform', () => {
  it('produces evidence the TPM verifier accepts, with instance info, boot cmdline and COS state', async () => {
    const platform = await launched();
    const evidence = await platform.attest(nonce);
    const verified = verifyTpmEvidence(evidence.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
    assert.equal(platform.hwmodel, 'SOFTWARE');
    assert.deepEqual([...verified.pcrs.keys()], [TPM_ALG.SHA256, TPM_ALG.SHA384]);
    assert.equal(verified.instanceInfo?.instanceName, 'vm1');
    assert.equal(verified.instanceInfo?.instanceId, instance.instanceId);
    assert.equal(verified.kernelCmdline, softBootCmdline(boot.launcherBuild, 'confidential-space'));
    assert.equal(verified.cosState?.container.restartPolicy, 'Never');
    assert.equal(verified.cosState?.separatorSeen, true);
  });

  it('measures a boot the verifier reads like GCE: Secure Boot with its db key, boot applications, command line', async () => {
    const evidence = await (await launched()).attest(nonce);
    const boot = verifyTpmEvidence(evidence.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) })
      .bootState!;
    assert.equal(boot.secureBoot.enabled, true);
    assert.deepEqual(boot.secureBoot.db.certificates.map(fingerprint), [SOFT_DB_KEY]);
    assert.deepEqual(boot.secureBoot.authority.map(fingerprint), [SOFT_DB_KEY]);
    assert.deepEqual(
      boot.bootApplications?.get(TPM_ALG.SHA384),
      softBootImages(boot.kernelCmdline!.match(/sha256:[0-9a-f]{64}/)![0]).map((i) => digest(TPM_ALG.SHA384, i)),
    );
    assert.equal(Buffer.from(boot.scrtmVersion!).toString('utf16le'), 'Sealroom soft platform 1\0');
  });

  it('has the same Secure Boot keys on every host: fixed certificates', () => {
    const keys = softSecureBootKeys();
    assert.equal(fingerprint(keys.db), SOFT_DB_KEY);
    assert.ok(new X509Certificate(keys.db).verify(new X509Certificate(keys.kek).publicKey));
    assert.ok(new X509Certificate(keys.kek).verify(new X509Certificate(keys.pk).publicKey));
  });

  it('boots without Secure Boot, or other images, when its firmware is told to', async () => {
    const off = await (await launched({ ...boot, firmware: { secureBoot: false } })).attest(nonce);
    const offBoot = verifyTpmEvidence(off.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
    assert.equal(offBoot.bootState?.secureBoot.enabled, false);
    const other = await (await launched({ ...boot, firmware: { bootImages: [Buffer.from('evil')] } })).attest(nonce);
    const otherBoot = verifyTpmEvidence(other.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
    assert.deepEqual(otherBoot.bootState?.bootApplications?.get(TPM_ALG.SHA256), [
      digest(TPM_ALG.SHA256, Buffer.from('evil')),
    ]);
  });

  it('signs with an RSA AK too', async () => {
    const platform = await launched({ ...boot, akAlgorithm: 'rsa-2048' });
    const evidence = await platform.attest(nonce);
    verifyTpmEvidence(evidence.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
  });

  it('measures the image family: debug and hardened boots differ in PCR 8', () => {
    const hardened = bootSoftPlatform(boot).tpm.read(TPM_ALG.SHA256)[8];
    const debug = bootSoftPlatform({ ...boot, imageFamily: 'confidential-space-debug' }).tpm.read(TPM_ALG.SHA256)[8];
    assert.notDeepEqual(hardened, debug);
  });

  it('gives each boot a fresh attestation key', () => {
    assert.ok(!bootSoftPlatform(boot).tpm.akPublicKey.equals(bootSoftPlatform(boot).tpm.akPublicKey));
  });

  it('is refused when the verifier trusts another CA', async () => {
    const other = createPlatformCa(NOW);
    const evidence = await (await launched()).attest(nonce);
    assert.throws(
      () => verifyTpmEvidence(evidence.tpm, { nonce, trustedRoots: [other.certificate], at: new Date(NOW) }),
      {
        code: 'ERR_ATTEST_CERT_CHAIN',
      },
    );
  });

  it('is refused when a CEL event is dropped after measurement', async () => {
    const evidence = await (await launched()).attest(nonce);
    const cel = Buffer.from(evidence.tpm.canonicalEventLog!);
    // Cut at the start of the last record (the separator): its recnum TLV is type 0, length 8, value 3.
    const lastRecord = cel.indexOf(Buffer.from('00000000080000000000000003', 'hex'));
    assert.ok(lastRecord > 0);
    const tampered = { ...evidence.tpm, canonicalEventLog: cel.subarray(0, lastRecord) };
    assert.throws(() => verifyTpmEvidence(tampered, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) }), {
      code: 'ERR_ATTEST_REPLAY_MISMATCH',
    });
  });

  it('is refused when its CEL records name RTMR 3 (CC MR 4) instead of PCR 13', async () => {
    const evidence = await (await launched()).attest(nonce);
    const records = decodeCel(evidence.tpm.canonicalEventLog!).map((r) => ({
      ...r,
      indexType: CEL_TYPE.CCMR,
      index: 4,
    }));
    const tampered = { ...evidence.tpm, canonicalEventLog: encodeCel(records) };
    assert.throws(() => verifyTpmEvidence(tampered, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) }), {
      code: 'ERR_ATTEST_CEL_INDEX_TYPE',
    });
  });

  it('restores the CA from its exported key and keeps issuing verifiable certificates', async () => {
    const restored = loadPlatformCa(ca.certificate, ca.exportPrivateKey());
    const evidence = await (await launched({ ...boot, ca: restored })).attest(nonce);
    verifyTpmEvidence(evidence.tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
  });
});
