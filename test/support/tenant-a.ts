// Tenant A of the cross-tenant end-to-end tests: a key whose decrypters, and a project whose viewers, are a group.
import type { BearerRest } from './rest.ts';

export const GROUP = 'kmsusers@a.example';
export const KEY = 'projects/tenant-a/locations/global/keyRings/kr1/cryptoKeys/k1';

/**
 * As `alice`: project tenant-a with key KEY, which only alice may encrypt with and only GROUP's members may decrypt
 * with; GROUP's members are viewers of the project. Resolves with the ciphertext of `secret of A` under KEY.
 */
export async function setUpTenantA(ok: BearerRest['ok'], alice: string): Promise<string> {
  await ok(alice, 'POST', '/v1/projects', { projectId: 'tenant-a' });
  await ok(alice, 'POST', '/v1/projects/tenant-a/locations/global/keyRings?keyRingId=kr1', {});
  await ok(alice, 'POST', '/v1/projects/tenant-a/locations/global/keyRings/kr1/cryptoKeys?cryptoKeyId=k1', {
    purpose: 'ENCRYPT_DECRYPT',
  });
  const keyPolicy = await ok(alice, 'POST', `/v1/${KEY}:getIamPolicy`, {});
  await ok(alice, 'POST', `/v1/${KEY}:setIamPolicy`, {
    policy: {
      etag: keyPolicy.etag,
      bindings: [
        { role: 'roles/cloudkms.cryptoKeyEncrypter', members: ['user:alice@example.com'] },
        { role: 'roles/cloudkms.cryptoKeyDecrypter', members: [`group:${GROUP}`] },
      ],
    },
  });
  const projectPolicy = await ok(alice, 'POST', '/v1/projects/tenant-a:getIamPolicy', {});
  await ok(alice, 'POST', '/v1/projects/tenant-a:setIamPolicy', {
    policy: {
      ...projectPolicy,
      bindings: [...projectPolicy.bindings, { role: 'roles/viewer', members: [`group:${GROUP}`] }],
    },
  });
  const encrypted = await ok(alice, 'POST', `/v1/${KEY}:encrypt`, {
    plaintext: Buffer.from('secret of A').toString('base64'),
  });
  return encrypted.ciphertext;
}
