// Benchmark: STS token exchanges (RFC 8693, an attestation-shaped JWT, cached JWKS) against `sealroom serve` in its
// own process, next to a bare Node hello-world and the same server's /healthz, load from wrk (the performance goals).
// Run: npm exec -- node bench/sts.ts [seconds-per-phase] [connections]
import { apiOf } from './lib/api.ts';
import { startRun } from './lib/measure.ts';
import { startHelloWorld, startSealroom } from './lib/processes.ts';
import { setUpSts } from './lib/scenarios.ts';

const run = startRun('sts', 'STS token exchange (cached JWKS, seed attribute mapping and condition)');
const hello = await startHelloWorld();
const server = await startSealroom();
try {
  const api = apiOf(server.url);
  const token = await api.login('bench@example.com');
  const projectNumber = await api.createProject(token, 'bench-sts');
  const sts = await setUpSts(api, token, 'bench-sts', projectNumber);
  try {
    await run.http('hello-world (bare node:http)', hello, { path: '/' });
    await run.http('GET /healthz', server, { path: '/healthz' });
    await run.http('STS exchange (form body)', server, {
      method: 'POST',
      path: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: sts.form,
    });
    // The set-up's first exchange fetched the JWKS; any fetch during the load would mean it is not cached.
    console.log(`  … JWKS downloads by the server so far (set-up included): ${sts.issuer.jwksFetches()}`);
    run.finish([
      { row: 'STS exchange (form body)', of: 'GET /healthz', atLeast: 1 / 4, label: 'STS exchange / healthz' },
    ]);
  } finally {
    await sts.issuer.close();
  }
} finally {
  await server.stop();
  await hello.stop();
}
