// A verifier outage long enough for the attestation token to expire, on a real server: a word published
// meanwhile is held by the workload (not dead-lettered), and counted once the verifier is back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { createMemoryLogger } from '@sealroom/core';
import {
  type Tutorial,
  createContributionSealer,
  instanceClaims,
  runWorkload,
  setUpTutorial,
  waitFor,
} from '@sealroom/example-wordcount';
import { createPubsubService } from '@sealroom/pubsub';
import { type RunningServer, SERVICES, resolveServerConfig, startServer } from '@sealroom/server';
import { createKmsKeyWrapper } from '@sealroom/workload';
import { OAuth2Client } from 'google-auth-library';

/** The attestation token's lifetime at the start; the verifier "goes down" right after it is written. */
const TOKEN_SECONDS = 20;
/** How long the outage lasts after the word is published: the dead-letter policy (5 attempts) tolerates far less. */
const OUTAGE_AFTER_PUBLISH_MS = 15_000;

let server: RunningServer;
let stateDir: string;
let t: Tutorial;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-outage-'));
  const services = SERVICES.some((s) => s.name === 'pubsub')
    ? SERVICES
    : [...SERVICES, { name: 'pubsub', factory: createPubsubService }];
  server = await startServer(resolveServerConfig({ dev: true, port: 0, grpcPort: 0, stateDir, logLevel: 'warn' }), {
    logger: createMemoryLogger(),
    services,
  });
  const grpc = { host: '127.0.0.1', port: server.grpcPort ?? 0, caPem: server.tls.caPem };
  t = await setUpTutorial({ baseUrl: server.url, grpc, print: () => {}, instances: 'dev' });
});

after(async () => {
  await t?.close();
  await server?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Collaborator 1 seals WORD with its own KMS key and publishes it (the tutorial's REST publish path). */
async function publishAsCollaborator1(word: string): Promise<void> {
  const c = t.collaborators[0];
  await c.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: await c.cli.accessToken(), expiry_date: Date.now() + 3_000_000 });
  const kms = new KeyManagementServiceClient({
    fallback: true,
    protocol: 'http',
    apiEndpoint: '127.0.0.1',
    port: Number(new URL(server.url).port),
    authClient,
  } as never);
  try {
    const sealer = createContributionSealer({
      collaborator: c.project,
      wrapper: createKmsKeyWrapper(kms as never, t.kmsKeyOf(c)),
      mode: 'envelope',
    });
    const wire = await sealer.seal(word);
    await c.cli.rest('POST', `/v1/projects/${t.operator.project}/topics/cs-topic:publish`, {
      messages: [{ data: wire.data.toString('base64'), attributes: wire.attributes }],
    });
  } finally {
    await kms.close();
  }
}

async function pullDeadLetters(): Promise<number> {
  await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
  const answer = (await t.operator.cli.rest(
    'POST',
    `/v1/projects/${t.operator.project}/subscriptions/cs-dead-letters:pull`,
    { maxMessages: 100 },
  )) as { receivedMessages?: unknown[] };
  return answer.receivedMessages?.length ?? 0;
}

test('a word published while the verifier is down and the attestation token has expired is held, never dead-lettered, and counted once the verifier is back', async () => {
  const claims = {
    operatorProject: t.operator.project,
    operatorProjectNumber: t.operator.projectNumber,
    serviceAccount: t.serviceAccount,
    imageReference: t.imageReference,
    imageDigest: t.imageDigest,
  };
  const instance = t.attestation.bootInstance(claims);
  const now = Math.floor(Date.now() / 1000);
  const expiresAtMs = (now + TOKEN_SECONDS) * 1000;
  // What the launcher last wrote before the verifier went away: a token that expires in TOKEN_SECONDS.
  writeFileSync(
    instance.tokenFile,
    await t.attestation.sign({
      ...instanceClaims(t.attestation.issuerUri, claims),
      iat: now,
      nbf: now,
      exp: now + TOKEN_SECONDS,
    }),
  );
  const logger = createMemoryLogger();
  const workload = await runWorkload({
    config: t.config,
    logger,
    tokenFile: instance.tokenFile,
    retry: { initialMs: 250, maxMs: 2000 },
  });
  try {
    await waitFor(() => Date.now() > expiresAtMs + 1000, TOKEN_SECONDS * 1000 + 10_000, 'the token to expire');
    await publishAsCollaborator1('outage');
    // The outage goes on: a workload that nacked would have spent all five delivery attempts by now.
    const until = Date.now() + OUTAGE_AFTER_PUBLISH_MS;
    while (Date.now() < until) {
      assert.equal(workload.processor.stats.rejected, 0, 'nothing rejected because of the outage');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(workload.processor.stats.transientFailures > 0, 'the workload did try, and failed');
    assert.equal(workload.processor.stats.held, 1, 'the word is held');
    assert.equal(await pullDeadLetters(), 0, 'nothing dead-lettered during the outage');
    assert.equal(workload.tally.result(1).counts.outage, undefined);

    // The verifier is back: the launcher writes a fresh token.
    await instance.refresh();
    await waitFor(() => workload.tally.result(1).counts.outage === 1, 60_000, 'the word counted after the outage');
    await workload.processor.flush();
    assert.equal(workload.processor.stats.rejected, 0);
    assert.equal(await pullDeadLetters(), 0, 'nothing dead-lettered at all');
    const log = JSON.stringify(logger.entries);
    assert.match(log, /"reason":"token-expired"/, 'the instance log says why it waited');
    assert.match(log, /reachable again/);
    assert.doesNotMatch(log, /"outage"/, 'no plaintext in the log');
  } finally {
    await workload.stop();
  }
});
