// The tpm platform against a real TPM 2.0 simulator (swtpm): the evidence verifies as GCE evidence does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AttestError } from '../errors.ts';
import { COS_PCR, COS_TYPE, encodeCosContent } from '../eventlog/cos.ts';
import { TPM_ALG, hashInfo } from '../tpm/constants.ts';
import { ByteWriter } from '../tpm/bytes.ts';
import { TPM_RH, connectTpmSocket, openTpm } from '../tpm/device.ts';
import { verifyTpmEvidence } from '../tpm/evidence.ts';
import { parseTpmPublic, toPublicKey } from '../tpm/public.ts';
import { createPlatformCa } from './platform-ca.ts';
import { SWTPM_AVAILABLE, startSwtpm } from './swtpm-test-support.ts';
import type { Swtpm } from './swtpm-test-support.ts';
import { GCE_NV_INDEX, type TpmPlatform, bootTpmPlatform, gceAkTemplateEcc } from './tpm.ts';

const NOW = Date.UTC(2026, 5, 1);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const INSTANCE = {
  zone: 'us-central1-a',
  projectId: 'operator-project',
  projectNumber: '123456789012',
  instanceName: 'vm1',
  instanceId: '6920867375712861823',
};

describe('tpm platform on swtpm', { skip: SWTPM_AVAILABLE ? false : 'swtpm is not installed' }, () => {
  let swtpm: Swtpm;
  let platform: TpmPlatform;
  let closed = false;
  const ca = createPlatformCa(NOW);
  before(async () => {
    swtpm = await startSwtpm();
    platform = await bootTpmPlatform({
      tpm: await openTpm(swtpm.address),
      ca,
      instance: INSTANCE,
      launcherBuild: `sha256:${'1'.repeat(64)}`,
      imageFamily: 'confidential-space',
      nowMs: NOW,
    });
    await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_REF, `registry.example/tee@${DIGEST}`));
    await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_DIGEST, DIGEST));
    await platform.measureEvent(encodeCosContent(COS_TYPE.RESTART_POLICY, 'Never'));
    await platform.measureEvent(encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, new Uint8Array(0)));
  });
  after(async () => {
    if (!closed) await platform?.close();
    await swtpm?.stop();
  });

  test('quotes every bank the TPM has, and the evidence verifies with the AK certificate', async () => {
    assert.ok(platform.banks.includes(TPM_ALG.SHA256), `banks ${platform.banks}`);
    assert.ok(platform.banks.includes(TPM_ALG.SHA1), `banks ${platform.banks}`);
    assert.equal(platform.akCertificateFromNv, false);
    const nonce = randomBytes(32);
    const { tpm } = await platform.attest(nonce);
    assert.equal(tpm.quotes.length, platform.banks.length);
    const verified = verifyTpmEvidence(tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
    assert.equal(verified.cosState?.container?.imageDigest, DIGEST);
    assert.equal(verified.cosState?.container?.restartPolicy, 'Never');
    assert.equal(verified.instanceInfo?.instanceName, 'vm1');
    assert.equal(verified.bootState?.secureBoot.enabled, true);
    assert.match(verified.kernelCmdline ?? '', /sealroom\.launcher=sha256:1{64}/);
    // A PCR 13 of zeros means nothing was measured: the quoted value is the replay of the four events.
    assert.notDeepEqual(verified.pcrs.get(TPM_ALG.SHA256)?.get(COS_PCR), Buffer.alloc(32));
    // The AK is GCE's template made by the TPM: restricted ECDSA P-256.
    assert.equal(parseTpmPublic(platform.akPublicArea).objectAttributes, 0x00050072);
  });

  test('a quote for another nonce is refused', async () => {
    const { tpm } = await platform.attest(randomBytes(32));
    assert.throws(
      () => verifyTpmEvidence(tpm, { nonce: randomBytes(32), trustedRoots: [ca.certificate], at: new Date(NOW) }),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_NONCE_MISMATCH',
    );
  });

  test('a tampered PCR value is refused', async () => {
    const nonce = randomBytes(32);
    const { tpm } = await platform.attest(nonce);
    const [first, ...rest] = tpm.quotes;
    const values = new Map(first!.pcrValues);
    const pcr13 = Buffer.from(values.get(COS_PCR)!);
    pcr13[0]! ^= 1;
    values.set(COS_PCR, pcr13);
    assert.throws(
      () =>
        verifyTpmEvidence(
          { ...tpm, quotes: [{ ...first!, pcrValues: values }, ...rest] },
          { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) },
        ),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_PCR_DIGEST_MISMATCH',
    );
  });

  test('an event measured outside the canonical log is refused', async () => {
    await platform.tpm.pcrExtend(COS_PCR, new Map(platform.banks.map((alg) => [alg, randomBytes(hashInfo(alg).size)])));
    const nonce = randomBytes(32);
    const { tpm } = await platform.attest(nonce);
    assert.throws(
      () => verifyTpmEvidence(tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) }),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_REPLAY_MISMATCH',
    );
  });

  test('a TPM whose PCR 13 was extended cannot boot another launch', async () => {
    // swtpm serves one connection at a time.
    closed = true;
    await platform.close();
    await assert.rejects(
      bootTpmPlatform({
        tpm: await openTpm(swtpm.address),
        ca,
        instance: INSTANCE,
        launcherBuild: `sha256:${'1'.repeat(64)}`,
        imageFamily: 'confidential-space',
        nowMs: NOW,
      }),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_PLATFORM',
    );
  });
});

/** Defines NV index `index` (owner read and write, TPM2_NV_DefineSpace) and writes `data` (TPM2_NV_Write). */
async function nvWrite(address: string, index: number, data: Uint8Array): Promise<void> {
  const url = new URL(address);
  const transport = await connectTpmSocket({ host: url.hostname, port: Number(url.port) });
  const password = new ByteWriter().u32(9).u32(0x40000009).u16(0).u8(0).u16(0).finish();
  const command = async (cc: number, handles: number[], params: Uint8Array) => {
    const body = new ByteWriter();
    for (const h of handles) body.u32(h);
    const rest = body.bytes(password).bytes(params).finish();
    const frame = new ByteWriter()
      .u16(0x8002)
      .u32(10 + rest.length)
      .u32(cc)
      .bytes(rest)
      .finish();
    const response = await transport.send(frame);
    assert.equal(response.readUInt32BE(6), 0, `TPM command 0x${cc.toString(16)}`);
  };
  try {
    // TPMA_NV_OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD, an ordinary index.
    const nvPublic = new ByteWriter().u32(index).u16(TPM_ALG.SHA256).u32(0x00060006).u16(0).u16(data.length).finish();
    await command(0x12a, [TPM_RH.OWNER], new ByteWriter().u16(0).sized(nvPublic).finish());
    for (let offset = 0; offset < data.length; offset += 512) {
      const chunk = data.subarray(offset, offset + 512);
      await command(0x137, [TPM_RH.OWNER, index], new ByteWriter().sized(chunk).u16(offset).finish());
    }
  } finally {
    await transport.close();
  }
}

describe('tpm platform on a TPM that holds GCE’s AK template and certificate in NV', {
  skip: SWTPM_AVAILABLE ? false : 'swtpm is not installed',
}, () => {
  test('the AK certificate is the one in NV, and the evidence chains to its issuer, not the platform CA', async () => {
    const swtpm = await startSwtpm();
    try {
      // The "cloud" that made the instance: it read the AK the template gives and certified it into NV.
      const google = createPlatformCa(NOW);
      const template = gceAkTemplateEcc();
      const setup = await openTpm(swtpm.address);
      await setup.startup();
      const ak = await setup.createPrimary(TPM_RH.ENDORSEMENT, template);
      await setup.flush(ak.handle);
      await setup.close();
      const cert = google.issueAkCertificate(
        toPublicKey(parseTpmPublic(ak.publicArea)),
        { ...INSTANCE, securityVersion: '0', isProduction: true },
        NOW,
      );
      await nvWrite(swtpm.address, GCE_NV_INDEX.AK_TEMPLATE_ECC, template);
      // NV indices may be larger than the certificate: the padding is not part of it.
      await nvWrite(swtpm.address, GCE_NV_INDEX.AK_CERT_ECC, Buffer.concat([cert, Buffer.alloc(40)]));
      const platform = await bootTpmPlatform({
        tpm: await openTpm(swtpm.address),
        ca: createPlatformCa(NOW),
        instance: INSTANCE,
        launcherBuild: `sha256:${'1'.repeat(64)}`,
        imageFamily: 'confidential-space',
        nowMs: NOW,
      });
      try {
        assert.equal(platform.akCertificateFromNv, true);
        assert.deepEqual(platform.akCertificate, cert);
        await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_DIGEST, DIGEST));
        const nonce = randomBytes(32);
        const { tpm } = await platform.attest(nonce);
        const verified = verifyTpmEvidence(tpm, { nonce, trustedRoots: [google.certificate], at: new Date(NOW) });
        assert.equal(verified.cosState?.container?.imageDigest, DIGEST);
      } finally {
        await platform.close();
      }
    } finally {
      await swtpm.stop();
    }
  });
});
