// `--key kms://…`: the signer asks the KMS API for the public key and for asymmetricSign over SHA-256.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, privateEncrypt } from 'node:crypto';
import { it } from 'node:test';
import { signImage, toTrustedKey, verifyCsSignature, verifyImageSignatures } from '@sealroom/builder';
import type { CommandContext } from '../command.ts';
import { loadSigner, loadTrustedKey } from './supply-chain-helpers.ts';

const NAME = 'projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';
/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

function fakeKmsContext(): { ctx: CommandContext; calls: string[]; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const calls: string[] = [];
  const api = {
    baseUrl: 'http://127.0.0.1:1',
    account: () => 'a@example.com',
    accessToken: async () => 'token',
    async request(method: string, path: string, options?: { body?: { digest?: { sha256?: string } } }) {
      calls.push(`${method} ${path}`);
      if (path === `/v1/${NAME}/publicKey`) return { pem: publicPem, algorithm: 'RSA_SIGN_PKCS1_2048_SHA256' };
      const digest = Buffer.from(options?.body?.digest?.sha256 ?? '', 'base64');
      return {
        signature: privateEncrypt(
          { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
          Buffer.concat([SHA256_DIGEST_INFO, digest]),
        ).toString('base64'),
      };
    },
  };
  return { ctx: { api } as unknown as CommandContext, calls, publicPem };
}

it('signs with a kms:// key version through publicKey and asymmetricSign, verifiable by Confidential Space', async () => {
  const { ctx, calls, publicPem } = fakeKmsContext();
  const signer = await loadSigner(ctx, `kms://${NAME}`);
  assert.equal(signer.algorithm, 'RSASSA_PKCS1V15_SHA256');
  const digest = `sha256:${'ab'.repeat(32)}`;
  const layer = await signImage({ dockerReference: 'h/p/r/i', imageDigest: digest, signer });
  assert.deepEqual(calls, [`GET /v1/${NAME}/publicKey`, `POST /v1/${NAME}:asymmetricSign`]);
  const verified = verifyCsSignature(
    layer.payload,
    layer.descriptor.annotations?.['dev.cosignproject.cosign/signature'] ?? '',
    digest,
  );
  assert.equal(verified.key_id, toTrustedKey(publicPem).info.keyId);
  const trusted = await loadTrustedKey(ctx, `kms://${NAME}`);
  assert.equal(
    verifyImageSignatures({ imageDigest: digest, layers: [layer], keys: [trusted], threshold: 1 }).signedBy.length,
    1,
  );
});
