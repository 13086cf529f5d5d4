// Benchmark: how long the server's event loop stalls while a tenant's costly-but-admitted provider policy is exchanged.
// Run: npm exec -- node bench/cel-event-loop.ts
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { compileProviderPolicy } from '@sealroom/cel';
import { silentLogger } from '@sealroom/core';
import { ServerConfigSchema, startServer } from '@sealroom/server';
import { SignJWT } from 'jose';

const digits = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
const CONDITION = `assertion.list.all(x, x in ${digits(40)}) && assertion.sub == 'nobody'`;
const CLAIMS = { sub: 'w', list: Array.from({ length: 7800 }, () => 0) };
const ROUNDS = 3;
const CONCURRENT = 6;

const dir = mkdtempSync(join(tmpdir(), 'sealroom-bench-eld-'));
const server = await startServer(
  ServerConfigSchema.parse({ port: 0, grpcPort: -1, dev: true, stateDir: join(dir, 'state'), logLevel: 'silent' }),
  { logger: silentLogger },
);
try {
  const { credentials } = server.iam.deps;
  await credentials.ensureUser('owner@example.com', 'dev');
  const { accessToken } = await credentials.issueAccessToken({
    kind: 'user',
    principal: 'user:owner@example.com',
    lifetimeMs: 3_600_000,
  });
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as { response?: { projectNumber: string } };
  };
  const number = (await call('/v1/projects', { projectId: 'bench-eld' })).response?.projectNumber;
  const pools = '/v1/projects/bench-eld/locations/global/workloadIdentityPools';
  await call(`${pools}?workloadIdentityPoolId=p`, {});
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await call(`${pools}/p/providers?workloadIdentityPoolProviderId=costly`, {
    oidc: {
      issuerUri: 'https://bench.example',
      jwksJson: JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256' }] }),
    },
    attributeMapping: { 'google.subject': 'assertion.sub' },
    attributeCondition: CONDITION,
  });
  const audience = `//iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/p/providers/costly`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT(CLAIMS)
    .setProtectedHeader({ alg: 'RS256', kid: 'k' })
    .setIssuer('https://bench.example')
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
  const exchange = () =>
    fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: token,
      }).toString(),
    }).then(async (r) =>
      r.status === 400 && ((await r.json()) as { error?: string }).error === 'unauthorized_client' ? 400 : r.status,
    );
  const first = await exchange(); // starts the worker
  if (first !== 400) throw new Error(`expected a refusal, got ${first}`);
  const policy = compileProviderPolicy({
    attributeMapping: { 'google.subject': 'assertion.sub' },
    attributeCondition: CONDITION,
  });
  policy.decide(CLAIMS);
  let started = performance.now();
  const decision = policy.decide(CLAIMS);
  const inlineMs = performance.now() - started;
  if (decision.granted || decision.denial.stage !== 'condition') throw new Error('the condition must run and deny');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  started = performance.now();
  for (let round = 0; round < ROUNDS; round++) await Promise.all(Array.from({ length: CONCURRENT }, exchange));
  const elapsed = performance.now() - started;
  delay.disable();
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}: figures scale with how busy the machine is`,
  );
  console.log(
    `policy estimate ${Math.ceil(policy.estimatedCost)} units; one decision inline: ${inlineMs.toFixed(1)} ms`,
  );
  console.log(
    `${ROUNDS * CONCURRENT} exchanges (${CONCURRENT} at a time) in ${elapsed.toFixed(0)} ms; event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, mean ${(delay.mean / 1e6).toFixed(1)} ms`,
  );
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
