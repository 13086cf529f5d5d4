// Benchmark: the verifier over HTTP against `sealroom serve` in its own process — challenges, and
// `:verifyConfidentialSpace` of soft-platform evidence with a service-account ID token, each issuing an RS256
// token — next to a bare Node hello-world, the same server's /healthz and the same run's RS256 signing rate on a
// thread pool (one signature per token: the verifier's hard limit), load from wrk (the performance goal).
// Run: npm exec -- node bench/verifier.ts [seconds-per-phase] [connections]
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PlatformCa } from '@sealroom/attest';
import { apiOf } from './lib/api.ts';
import { attesterOf, bootInstance, preparePlatformCa } from './lib/attester.ts';
import { startRun } from './lib/measure.ts';
import { startHelloWorld, startSealroom } from './lib/processes.ts';

/** Prepared attestations per second of a phase: above what the verifier answers on a small machine. */
const PREPARED_PER_SECOND = 1600;
/** The same for the phase on one connection, where each waits for the one before (~1.5 ms each here). */
const PREPARED_PER_SECOND_ONE_CONNECTION = 1000;
/** Attestations prepared at once (each a challenge, a quote and an ID token over HTTP). */
const PREPARING_CONCURRENCY = 8;
/** RS256 signatures in flight: enough to keep the default thread pool (4 threads) busy. */
const SIGNING_CONCURRENCY = 8;

const run = startRun('verifier', 'challenge + verifyConfidentialSpace + token over HTTP, vs RS256 signing');

// The limit, on the machine as it is now: RSA-2048 PKCS#1 v1.5 SHA-256 signatures of a token-sized input.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const input = Buffer.alloc(1200, 7);
const signAsync = promisify(sign);
const signingStarted = performance.now();
const signingUntil = signingStarted + run.seconds * 1000;
let signatures = 0;
await Promise.all(
  Array.from({ length: SIGNING_CONCURRENCY }, async () => {
    while (performance.now() < signingUntil) {
      await signAsync('sha256', input, privateKey);
      signatures++;
    }
  }),
);
const signingRate = signatures / ((performance.now() - signingStarted) / 1000);
console.log(`  … RS256 signatures, thread pool (${SIGNING_CONCURRENCY} in flight): ${signingRate.toFixed(0)} /s`);

let ca: PlatformCa | undefined;
const hello = await startHelloWorld();
const server = await startSealroom({ prepareState: (dir) => (ca = preparePlatformCa(dir)) });
try {
  const api = apiOf(server.url);
  const token = await api.login('bench@example.com');
  const projectNumber = await api.createProject(token, 'bench-operator');
  const sa = await api.call(token, 'POST', '/v1/projects/bench-operator/serviceAccounts', { accountId: 'operator-sa' });
  await api.grant(token, 'projects/bench-operator', 'roles/iam.serviceAccountTokenCreator', 'user:bench@example.com');
  await api.grant(
    token,
    'projects/bench-operator',
    'roles/confidentialcomputing.workloadUser',
    'user:bench@example.com',
  );
  const platform = await bootInstance(ca as PlatformCa, 'bench-operator', projectNumber);
  const attester = attesterOf(api, token, 'bench-operator', platform, sa.email);
  const count = Math.ceil(PREPARED_PER_SECOND * run.seconds);
  const countOne = Math.ceil(PREPARED_PER_SECOND_ONE_CONNECTION * run.seconds);
  const preparing = performance.now();
  const lines: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: PREPARING_CONCURRENCY }, async () => {
      while (next < count + countOne) {
        next++;
        const { path, body } = await attester.attest();
        lines.push(`${path}\t${body}`);
      }
    }),
  );
  // Each attestation is used once: its challenge is spent by the verification.
  const requestFile = join(run.scratchDir, 'verify-requests.tsv');
  writeFileSync(requestFile, `${lines.slice(0, count).join('\n')}\n`);
  const requestFileOne = join(run.scratchDir, 'verify-requests-one.tsv');
  writeFileSync(requestFileOne, `${lines.slice(count).join('\n')}\n`);
  console.log(
    `  … ${count + countOne} attestations prepared in ${((performance.now() - preparing) / 1000).toFixed(1)} s`,
  );

  const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  await run.http('hello-world (bare node:http)', hello, { path: '/' });
  await run.http('GET /healthz', server, { path: '/healthz' });
  const challenges = await run.http('createChallenge', server, {
    method: 'POST',
    path: attester.challengesPath,
    headers: bearer,
    body: '{}',
  });
  const verify = await run.http(
    'verifyConfidentialSpace + token (each once)',
    server,
    { method: 'POST', path: '/', headers: bearer },
    requestFile,
  );
  // Latency without a queue: one connection, each verification sent when the one before is answered.
  const alone = await run.http(
    'verifyConfidentialSpace, one connection',
    server,
    { method: 'POST', path: '/', headers: bearer },
    requestFileOne,
    1,
  );
  run.finish();
  // One attestation is a challenge and a verification, one after the other on a connection.
  const flowRate = 1 / (1 / challenges.rps + 1 / verify.rps);
  const share = flowRate / signingRate;
  console.log(
    `\nperformance goal: challenge + verify + token at ${flowRate.toFixed(0)} /s = ${(share * 100).toFixed(0)} % of ` +
      `thread-pool RS256 (${signingRate.toFixed(0)} /s; goal ≥ 40 %), verify p50 ${verify.p50Ms.toFixed(2)} ms ` +
      `(goal < 5 ms)  ${share >= 0.4 && verify.p50Ms < 5 && verify.failed === 0 ? 'met' : 'NOT met'}`,
  );
  // At 32 connections the p50 is mostly queueing (Little's law: 32 in flight / the rate); one connection shows
  // what a verification itself takes.
  console.log(
    `verify p50 on one connection (nothing queued before it): ${alone.p50Ms.toFixed(2)} ms, p99 ${alone.p99Ms.toFixed(2)} ms`,
  );
  if (verify.failed + alone.failed > 0) console.log(`(${verify.failed + alone.failed} verifications failed)`);
  // wrk stops sending once the prepared requests are used up, but reports over the whole phase.
  if (verify.requests >= count) {
    console.log(
      `(all ${count} prepared attestations were used before the phase ended: the verification rate is a lower ` +
        'bound, its CPU per request still holds)',
    );
  }
} finally {
  await server.stop();
  await hello.stop();
}
