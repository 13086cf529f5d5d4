// Benchmark: STS token exchanges per second over HTTP on loopback, next to a bare echo route on the same server.
// Run: npm exec -- node bench/sts.ts [seconds-per-phase] [concurrency]
import type { AddressInfo } from 'node:net';
import { exampleClaims, startHarness, startTestIssuer } from '../packages/federation/src/testing.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const CONCURRENCY = Number(process.argv[3] ?? 16);

const issuer = await startTestIssuer();
const h = await startHarness({
  extraRoutes: [{ method: 'POST', path: '/v1/echo', auth: 'none', body: 'form-or-json', handler: async (r) => r.body }],
});
await h.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
const auth = { authorization: `Bearer ${h.ownerToken}`, 'content-type': 'application/json' };
const pools = `${base}/v1/projects/${h.projectId}/locations/global/workloadIdentityPools`;
await fetch(`${pools}?workloadIdentityPoolId=bench-pool`, { method: 'POST', headers: auth, body: '{}' });
const created = await fetch(`${pools}/bench-pool/providers?workloadIdentityPoolProviderId=verifier`, {
  method: 'POST',
  headers: auth,
  body: JSON.stringify({
    oidc: { issuerUri: `${issuer.url}/`, allowedAudiences: ['https://sts.googleapis.com'] },
    attributeMapping: {
      'google.subject':
        '"gcpcs::"+assertion.submods.container.image_digest+"::"+assertion.submods.gce.project_number+"::"+assertion.submods.gce.instance_id',
      'attribute.image_digest': 'assertion.submods.container.image_digest',
    },
    attributeCondition:
      "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes && 'operator-svc-account@operator-project.iam.gserviceaccount.com' in assertion.google_service_accounts",
  }),
});
if (!created.ok) throw new Error(`provider setup failed: ${created.status}`);

const token = await issuer.sign(exampleClaims(issuer.url, Date.now()));
const form = new URLSearchParams({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  audience: `//iam.googleapis.com/projects/${h.projectNumber}/locations/global/workloadIdentityPools/bench-pool/providers/verifier`,
  scope: 'https://www.googleapis.com/auth/cloud-platform',
  requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  subject_token: token,
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
}).toString();
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

async function phase(name: string, path: string): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: formHeaders, body: form });
      await response.arrayBuffer();
      if (response.ok) done++;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rate = done / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(22)} ${rate.toFixed(0).padStart(7)} req/s  (${done} ok, ${failed} failed)`);
  return rate;
}

console.log(`bench/sts: ${SECONDS}s per phase, ${CONCURRENCY} concurrent clients, loopback HTTP/1.1, same process`);
await phase('warm-up (exchange)', '/v1/token');
const echo = await phase('echo (same server)', '/v1/echo');
const sts = await phase('STS exchange', '/v1/token');
console.log(`STS / echo = ${(sts / echo).toFixed(2)} (target ≥ 0.33)`);
await h.close();
await issuer.close();
