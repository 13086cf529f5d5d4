// Wire compatibility: unmodified google-auth-library external_account credentials against this server on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ExternalAccountClient } from 'google-auth-library';
import { exampleClaims, type FederationHarness, startHarness, startTestIssuer, type TestIssuer } from './testing.ts';

let h: FederationHarness;
let issuer: TestIssuer;
let base: string;
let dir: string;
let tokenFile: string;
let audience: string;
let saEmail: string;

before(async () => {
  issuer = await startTestIssuer();
  h = await startHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const auth = { authorization: `Bearer ${h.ownerToken}`, 'content-type': 'application/json' };
  const pools = `${base}/v1/projects/${h.projectId}/locations/global/workloadIdentityPools`;
  let response = await fetch(`${pools}?workloadIdentityPoolId=trusted-workload-pool`, {
    method: 'POST',
    headers: auth,
    body: '{}',
  });
  assert.equal(response.status, 200);
  response = await fetch(
    `${pools}/trusted-workload-pool/providers?workloadIdentityPoolProviderId=attestation-verifier`,
    {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        oidc: { issuerUri: `${issuer.url}/`, allowedAudiences: ['https://sts.googleapis.com'] },
        attributeMapping: {
          'google.subject': 'assertion.sub',
          'attribute.image_digest': 'assertion.submods.container.image_digest',
        },
        attributeCondition:
          "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes",
      }),
    },
  );
  assert.equal(response.status, 200, await response.text());
  audience = `//iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier`;
  const account = await h.iam.deps.serviceAccounts.create(
    { projectId: h.projectId, projectNumber: h.projectNumber },
    'collab-sa',
    '',
    '',
  );
  saEmail = account.email;
  await h.iam.grant(
    `projects/${h.projectId}/serviceAccounts/${saEmail}`,
    'roles/iam.workloadIdentityUser',
    `principalSet://iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool/*`,
  );
  dir = mkdtempSync(join(tmpdir(), 'sealroom-sts-'));
  tokenFile = join(dir, 'attestation_verifier_claims_token');
  // The launcher writes the raw JWT; a trailing newline must not matter (google-auth-library sends the file as read).
  writeFileSync(tokenFile, `${await issuer.sign(exampleClaims(issuer.url, Date.now()))}\n`);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await h.close();
  await issuer.close();
});

function credentials(impersonate: boolean): Record<string, unknown> {
  return {
    type: 'external_account',
    audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${base}/v1/token`,
    credential_source: { file: tokenFile },
    ...(impersonate
      ? { service_account_impersonation_url: `${base}/v1/projects/-/serviceAccounts/${saEmail}:generateAccessToken` }
      : {}),
  };
}

it('google-auth-library external_account obtains a federated access token from /v1/token', async () => {
  const client = ExternalAccountClient.fromJSON(credentials(false) as never);
  assert.ok(client);
  const { token } = await client.getAccessToken();
  assert.ok(token);
  const caller = await h.iam.context.authenticator.authenticate(token);
  assert.equal(caller.kind, 'federated');
  assert.equal(
    caller.principal,
    `principal://iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool/subject/https://www.googleapis.com/compute/v1/projects/operator-project/zones/us-central1-a/instances/vm1`,
  );
});

it('google-auth-library external_account impersonates a service account granted workloadIdentityUser', async () => {
  const client = ExternalAccountClient.fromJSON(credentials(true) as never);
  assert.ok(client);
  const { token } = await client.getAccessToken();
  assert.ok(token);
  const caller = await h.iam.context.authenticator.authenticate(token);
  assert.equal(caller.principal, `serviceAccount:${saEmail}`);
});

it('google-auth-library reports a refused exchange with the OAuth error', async () => {
  writeFileSync(tokenFile, await issuer.sign({ ...exampleClaims(issuer.url, Date.now()), swname: 'GCE' }));
  const client = ExternalAccountClient.fromJSON(credentials(false) as never);
  assert.ok(client);
  await assert.rejects(client.getAccessToken(), /unauthorized_client/);
});
