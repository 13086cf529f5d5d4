// Benchmark: attestations verified and tokens issued per second, next to RS256 signatures per second (the hard
// limit: one signature per token) measured in the same run on the same machine.
// Run: npm exec -- node bench/verifier.ts [seconds-per-phase] [concurrency]
import { generateKeyPairSync, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { createFixture, toTpmJson } from '../packages/verifier/src/test-fixture.ts';

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);

function report(name: string, done: number, started: number): number {
  const seconds = (performance.now() - started) / 1000;
  const rate = done / seconds;
  console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(7)} /s  (${done} in ${seconds.toFixed(1)} s)`);
  return rate;
}

/** Runs `run` on `concurrency` loops until the deadline, or until it returns false (work ran out). */
async function phase(name: string, concurrency: number, run: () => Promise<undefined | false>): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        if ((await run()) === false) break;
        done++;
      }
    }),
  );
  return report(name, done, started);
}

// 1. The limit: bare RS256 (RSA-2048 PKCS#1 v1.5, SHA-256) signatures of a token-sized input.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const input = Buffer.alloc(1200, 7);
const signAsync = promisify(sign);
const limitSync = await phase('RS256 signatures, one thread', 1, async () => {
  sign('sha256', input, privateKey);
});
const limitPool = await phase(`RS256 signatures, thread pool (concurrency ${CONCURRENCY})`, CONCURRENCY, async () => {
  await signAsync('sha256', input, privateKey);
});

const f = await createFixture();
const verifier = f.module.verifier;
const platform = await f.boot();

// 2. Verifier-side work for one attestation, in process: quotes (2 banks), AK chain, both logs, COS parsing,
//    image database, claims and the RS256 token.
const nonce = Buffer.alloc(32, 1);
const evidence = (await platform.attest(nonce)).tpm;
const request = {
  evidence,
  serviceAccountIdTokens: [],
  imageSignatures: [],
  options: { nonces: [], signature: 'OIDC' as const },
};
for (let i = 0; i < 200; i++) await verifier.issueToken(verifier.appraise(evidence, nonce), [], request); // JIT warm-up
const inProcess = await phase(`appraisal + token, in process (concurrency ${CONCURRENCY})`, CONCURRENCY, async () => {
  const appraisal = verifier.appraise(evidence, nonce);
  await verifier.issueToken(appraisal, [], request);
});

// 3. verifyConfidentialSpace over loopback HTTP: challenges, quotes and SA ID tokens are made beforehand
//    (attester work), so the phase times the verifier's API alone: parsing, authorization, challenge
//    consumption, appraisal, SA token check, audit entry, token.
const port = await f.app.listen({ port: 0, host: '127.0.0.1' }).then((url) => new URL(url).port);
const base = `http://127.0.0.1:${port}`;
const headers = { authorization: `Bearer ${f.workloadToken}`, 'content-type': 'application/json' };
const prepared: Array<{ name: string; body: string }> = [];
for (let i = 0; i < 400 * SECONDS; i++) {
  const challenge = await verifier.createChallenge(
    await f.t.context.authenticator.authenticate(f.workloadToken),
    'operator-project',
    'us-central1',
  );
  const attested = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
  const body = {
    challenge: challenge.name,
    gcpCredentials: { serviceAccountIdTokens: [await f.signSaToken(challenge.name)] },
    tpmAttestation: toTpmJson(attested),
  };
  prepared.push({ name: challenge.name, body: JSON.stringify(body) });
}
const overHttp = await phase(
  `verifyConfidentialSpace over HTTP (concurrency ${CONCURRENCY})`,
  CONCURRENCY,
  async () => {
    const next = prepared.pop();
    if (next === undefined) return false;
    const res = await fetch(`${base}/v1/${next.name}:verifyConfidentialSpace`, {
      method: 'POST',
      headers,
      body: next.body,
    });
    if (res.status !== 200) throw new Error(`verify: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    return undefined;
  },
);

const pct = (rate: number, of: number): string => `${((rate / of) * 100).toFixed(0)} %`;
console.log(
  `\nin process: ${pct(inProcess, limitSync)} of one-thread RS256, ${pct(inProcess, limitPool)} of thread-pool RS256; ` +
    `over HTTP: ${pct(overHttp, limitSync)} / ${pct(overHttp, limitPool)}.`,
);
await f.app.close();
await f.t.close();
