// What the benchmarks and the soak measure, set up through the public API of a running server: a KMS key with
// a ciphertext, a workload identity provider trusting a local OIDC issuer, and a Pub/Sub topic and subscription.
import { randomBytes } from 'node:crypto';
import { exampleClaims, startTestIssuer, type TestIssuer } from '@sealroom/federation/testing';
import type { Api } from './api.ts';

export interface KmsScenario {
  /** The key's resource name. */
  readonly key: string;
  /** JSON bodies of `:encrypt` (1 KiB of plaintext) and `:decrypt` (its ciphertext). */
  readonly encryptBody: string;
  readonly decryptBody: string;
  readonly ciphertext: string;
}

/** Key ring `bench`, key `k` (ENCRYPT_DECRYPT) in `projectId`, usable by `member`, and a 1 KiB ciphertext. */
export async function setUpKms(api: Api, token: string, projectId: string, member: string): Promise<KmsScenario> {
  const ring = `/v1/projects/${projectId}/locations/global/keyRings`;
  await api.call(token, 'POST', `${ring}?keyRingId=bench`, {});
  await api.call(token, 'POST', `${ring}/bench/cryptoKeys?cryptoKeyId=k`, { purpose: 'ENCRYPT_DECRYPT' });
  const key = `projects/${projectId}/locations/global/keyRings/bench/cryptoKeys/k`;
  await api.grant(token, key, 'roles/cloudkms.cryptoKeyEncrypterDecrypter', member);
  const encryptBody = JSON.stringify({ plaintext: randomBytes(1024).toString('base64') });
  const { ciphertext } = await api.call(token, 'POST', `/v1/${key}:encrypt`, JSON.parse(encryptBody));
  return { key, encryptBody, decryptBody: JSON.stringify({ ciphertext }), ciphertext };
}

export interface StsScenario {
  readonly issuer: TestIssuer;
  /** The form body of an RFC 8693 exchange of a valid attestation-shaped token at `/v1/token`. */
  readonly form: string;
}

/**
 * Pool `bench-pool` with provider `verifier` trusting a local OIDC issuer (this process; the server fetches its
 * JWKS once and caches it), with the seed's attribute mapping and condition, and a token it accepts.
 */
export async function setUpSts(api: Api, token: string, projectId: string, projectNumber: string) {
  const issuer = await startTestIssuer();
  const pools = `/v1/projects/${projectId}/locations/global/workloadIdentityPools`;
  await api.call(token, 'POST', `${pools}?workloadIdentityPoolId=bench-pool`, {});
  await api.call(token, 'POST', `${pools}/bench-pool/providers?workloadIdentityPoolProviderId=verifier`, {
    oidc: { issuerUri: `${issuer.url}/`, allowedAudiences: ['https://sts.googleapis.com'] },
    attributeMapping: {
      'google.subject':
        '"gcpcs::"+assertion.submods.container.image_digest+"::"+assertion.submods.gce.project_number+"::"+assertion.submods.gce.instance_id',
      'attribute.image_digest': 'assertion.submods.container.image_digest',
    },
    attributeCondition:
      "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes && 'operator-svc-account@operator-project.iam.gserviceaccount.com' in assertion.google_service_accounts",
  });
  const subjectToken = await issuer.sign(exampleClaims(issuer.url, Date.now()));
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/bench-pool/providers/verifier`,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  }).toString();
  // One exchange before any load: it fetches and caches the issuer's discovery document and JWKS.
  const first = await fetch(`${api.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  if (!first.ok) throw new Error(`STS exchange: ${first.status} ${await first.text()}`);
  return { issuer, form } satisfies StsScenario;
}
