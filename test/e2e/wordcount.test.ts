// The seed scenario end to end on an in-process server (build, registry, compute instance with launcher and verifier,
// STS, KMS, Secret Manager, Pub/Sub over gRPC), and the negative runs on the dev stand-in issuer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveRepoRoot, silentLogger } from '@sealroom/core';
import {
  type InstanceVariant,
  type Party,
  type RunningWorkload,
  type Tutorial,
  type WordcountResult,
  createContributionSealer,
  openCollaboratorAccess,
  runScenario,
  setUpTutorial,
  waitFor,
} from '@sealroom/example-wordcount';
import { createPubsubService } from '@sealroom/pubsub';
import { type RunningServer, SERVICES, resolveServerConfig, startServer } from '@sealroom/server';
import { createKmsKeyWrapper } from '@sealroom/workload';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';

let server: RunningServer;
let stateDir: string;
const grpc = () => ({ host: '127.0.0.1', port: server.grpcPort ?? 0, caPem: server.tls.caPem });

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-wordcount-'));
  const services = SERVICES.some((s) => s.name === 'pubsub')
    ? SERVICES
    : [...SERVICES, { name: 'pubsub', factory: createPubsubService }];
  server = await startServer(resolveServerConfig({ dev: true, port: 0, grpcPort: 0, stateDir, logLevel: 'warn' }), {
    logger: silentLogger,
    services,
  });
});

after(async () => {
  await server.close();
  rmSync(stateDir, { recursive: true, force: true });
});

test('the seed tutorial (build, push, instance, publish and mTLS send) counts alice from both collaborators as 2, each decrypting its own result', async () => {
  const lines: string[] = [];
  const outcome = await runScenario(server.url, { grpc: grpc(), print: (line) => lines.push(line) });
  assert.ok(outcome, lines.join('\n'));
  const results = Object.values(outcome.results);
  assert.equal(results.length, 2);
  for (const result of results) {
    assert.equal(result.minCollaborators, 1, 'the image’s output policy, read from the token');
    assert.match(result.transparency?.checkpoint ?? '', /^127\.0\.0\.1:\d+\/transparency\n\d+\n/);
    assert.equal(result.counts.alice, 2, 'over Pub/Sub, one from each collaborator');
    assert.equal(result.counts.bob, 2, 'over mTLS, one from each collaborator');
  }
  assert.match(
    lines.join('\n'),
    /\$ sealroom-wordcount send --host=127\.0\.0\.1:\d+ --server_name=tee\.collaborator1\.com/,
  );
  assert.match(lines.join('\n'), /\$ sealroom-wordcount results --project=\S+ --refresh --topicProject=/, 'on demand');
  for (const calls of Object.values(outcome.federatedCalls)) assert.ok(calls > 0, 'federated calls in audit log');
  const transcript = lines.join('\n');
  assert.match(transcript, /\$ sealroom iam workload-identity-pools providers create-oidc attestation-verifier/);
  assert.match(transcript, /KeyManagementService\.Decrypt by principal:\/\/iam\.googleapis\.com\/projects\/\d+/);
  assert.doesNotMatch(transcript.split('## Each collaborator reads')[0] ?? '', /"alice"/);
});

describe('negative runs', () => {
  let t: Tutorial;
  const running: RunningWorkload[] = [];
  const start = async (claims: Parameters<Tutorial['startWorkload']>[0] = {}) => {
    const workload = await t.startWorkload(claims);
    running.push(workload);
    return workload;
  };
  /** One collaborator's client sealing a word and publishing it over REST (the tutorial's publish path). */
  const publishAs = async (index: 0 | 1, words: string[], tamper = false) => {
    const c = t.collaborators[index];
    await c.cli.sealroom(['config', 'configurations', 'activate', `collaborator-${index + 1}`], { quiet: true });
    const token = await c.cli.accessToken();
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 3_000_000 });
    const kms = new KeyManagementServiceClient({
      fallback: true,
      protocol: 'http',
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(server.url).port),
      authClient,
    } as never);
    const sealer = createContributionSealer({
      collaborator: c.project,
      wrapper: createKmsKeyWrapper(kms as never, t.kmsKeyOf(c)),
      mode: 'envelope',
    });
    const messages = [];
    for (const word of words) {
      const wire = await sealer.seal(word);
      const data = Buffer.from(wire.data);
      if (tamper) data[data.length - 4] = (data[data.length - 4] ?? 0) ^ 1;
      messages.push({ data: data.toString('base64'), attributes: wire.attributes });
    }
    await kms.close();
    await c.cli.rest('POST', `/v1/projects/${t.operator.project}/topics/cs-topic:publish`, { messages });
  };
  const pullDeadLetters = async (): Promise<number> => {
    await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
    const answer = (await t.operator.cli.rest(
      'POST',
      `/v1/projects/${t.operator.project}/subscriptions/cs-dead-letters:pull`,
      { maxMessages: 100 },
    )) as { receivedMessages?: unknown[] };
    return answer.receivedMessages?.length ?? 0;
  };

  const waitForDeadLetters = async (): Promise<number> => {
    let deadLettered = 0;
    for (let i = 0; i < 40 && deadLettered === 0; i++) {
      deadLettered += await pullDeadLetters();
      if (deadLettered === 0) await new Promise((r) => setTimeout(r, 250));
    }
    return deadLettered;
  };

  before(async () => {
    // The negative runs vary the token's claims at will, so they use the dev stand-in's issuer.
    t = await setUpTutorial({ baseUrl: server.url, grpc: grpc(), print: () => {}, instances: 'dev' });
  });
  after(async () => {
    for (const workload of running) await workload.kill().catch(() => {});
    await t.close();
  });

  /** Boots a dev instance with these claims and tries each collaborator's STS, then its key. */
  const tryKeys = async (claims: Parameters<Tutorial['startWorkload']>[0] & object) => {
    const instance = t.attestation.bootInstance({
      operatorProject: t.operator.project,
      operatorProjectNumber: t.operator.projectNumber,
      serviceAccount: t.serviceAccount,
      imageReference: t.imageReference,
      imageDigest: t.imageDigest,
      ...claims,
    });
    await instance.refresh();
    const outcomes: string[] = [];
    for (const collaborator of t.config.collaborators) {
      const access = openCollaboratorAccess(collaborator, instance.tokenFile);
      try {
        await access.authClient.getAccessToken();
      } catch (error) {
        outcomes.push(`sts refused: ${(error as Error).message}`);
        await access.close();
        continue;
      }
      try {
        await access.wrapper.wrap(Buffer.alloc(32));
        outcomes.push('key released');
      } catch (error) {
        outcomes.push(`kms refused: ${(error as Error).message}`);
      } finally {
        await access.close();
      }
    }
    return outcomes;
  };

  test('the authorised image on a hardened instance gets both keys (the baseline of the refusals below)', async () => {
    assert.deepEqual(await tryKeys({}), ['key released', 'key released']);
  });

  test("an image with one changed byte is refused by both collaborators' STS", async () => {
    const digest = t.imageDigest.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const outcomes = await tryKeys({
      imageDigest: digest,
      imageReference: t.imageReference.replace(t.imageDigest, digest),
    });
    assert.equal(outcomes.length, 2);
    for (const outcome of outcomes) assert.match(outcome, /^sts refused: .*unauthorized_client/i);
  });

  const stsRefusals: [string, Parameters<Tutorial['startWorkload']>[0] & object][] = [
    ['a debug instance where the policy requires STABLE', { debug: true }],
    ['an instance under another service account', { serviceAccount: 'other@intruder.iam.gserviceaccount.com' }],
  ];
  for (const [what, claims] of stsRefusals) {
    test(`${what} is refused by both collaborators' STS`, async () => {
      const outcomes = await tryKeys(claims);
      assert.equal(outcomes.length, 2);
      for (const outcome of outcomes)
        assert.match(outcome, /^sts refused: .*(unauthorized_client|invalid_grant|condition)/i);
    });
  }

  test('a third party publishing to the topic gets nothing counted, and its message is dead-lettered', async () => {
    const workload = await start();
    try {
      // The operator (a third party to the data) publishes a forged contribution under a name outside the set.
      await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
      const forged = {
        data: Buffer.from(JSON.stringify({ k: 'AAAA', c: 'AAAA' })).toString('base64'),
        attributes: { collaborator: 'intruder-project', contribution_id: 'x1', mode: 'envelope' },
      };
      await t.operator.cli.rest('POST', `/v1/projects/${t.operator.project}/topics/cs-topic:publish`, {
        messages: [forged],
      });
      await waitFor(() => workload.processor.stats.rejected >= 5, 20_000, 'five delivery attempts');
      assert.equal(workload.tally.has('intruder-project', 'x1'), false);
      assert.ok((await waitForDeadLetters()) >= 1, 'dead-lettered after maxDeliveryAttempts');
    } finally {
      await workload.kill();
    }
  });

  test('tampered ciphertext is never counted and ends on the dead-letter topic', async () => {
    const workload = await start();
    try {
      const seenBefore = workload.tally.snapshot().seen.length;
      await publishAs(0, ['alice'], true);
      await waitFor(() => workload.processor.stats.rejected >= 5, 20_000, 'five refused deliveries');
      assert.equal(workload.tally.snapshot().seen.length, seenBefore);
      assert.ok((await waitForDeadLetters()) >= 1);
    } finally {
      await workload.kill();
    }
  });

  test('an image whose output policy says k = 2 withholds a word only one collaborator sent, and the result names its checkpoint', async () => {
    const [c1] = t.collaborators;
    const workload = await start({ outputPolicy: { min_collaborators: 2, min_count: 1 } });
    try {
      await publishAs(0, ['k2-both', 'k2-alone']);
      await publishAs(1, ['k2-both']);
      await waitFor(
        () => workload.tally.values()['k2-both']?.collaborators.length === 2 && !!workload.tally.values()['k2-alone'],
        20_000,
        'both words counted',
      );
      await workload.processor.flush();
      await workload.publishResults();
      await c1.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
      const result = JSON.parse(await c1.cli.wordcount(['results', `--project=${c1.project}`])) as WordcountResult;
      assert.equal(result.counts['k2-both'], 2, 'two collaborators sent it');
      assert.equal(result.counts['k2-alone'], undefined, 'one collaborator sent it: withheld');
      assert.equal(result.minCollaborators, 2);
      assert.ok(result.withheldWords >= 1);
      // The collaborator checks, offline against its own log's key, which key uses preceded this result.
      const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-receipts-'));
      try {
        const checkpoint = join(dir, 'result.checkpoint');
        writeFileSync(checkpoint, result.transparency?.checkpoint ?? '');
        const logKey = (await c1.cli.sealroom(['transparency', 'log-key'])).trim();
        const receipts = JSON.parse(
          await c1.cli.sealroom([
            'transparency',
            'receipts',
            'list',
            `--checkpoint=${checkpoint}`,
            `--log-key=${logKey}`,
            `--output-dir=${join(dir, 'receipts')}`,
            '--format=json',
          ]),
        ) as { index: number; kind: string; principal: string; method: string }[];
        const release = receipts.find((r) => r.index === result.transparency?.entryIndex);
        assert.equal(release?.kind, 'workload.release');
        const decrypts = receipts.filter((r) => r.kind === 'kms.use' && r.principal.startsWith('principal://'));
        assert.ok(decrypts.length > 0, 'the workload’s key releases precede the result');
        for (const r of [release, decrypts.at(-1)]) {
          const verified = JSON.parse(
            await c1.cli.sealroom([
              'transparency',
              'verify',
              join(dir, 'receipts', `${r?.index}.tlog-proof`),
              `--log-key=${logKey}`,
              '--format=json',
            ]),
          ) as { treeSize: number };
          assert.equal(verified.treeSize, Number(result.transparency?.checkpoint.split('\n')[1]));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await workload.stop();
    }
  });

  test('killing the workload mid-stream and restarting it loses nothing and double-counts nothing', async () => {
    const first = await start();
    const before = first.tally.snapshot().seen.length;
    const ids = (w: RunningWorkload) => w.tally.snapshot().seen.length - before;
    const words = Array.from({ length: 30 }, (_, i) => `w${i % 3}`);
    await publishAs(0, words.slice(0, 15));
    await publishAs(1, words.slice(15));
    await waitFor(() => ids(first) >= 10, 20_000, 'some contributions counted');
    await first.kill();
    const second = await start();
    try {
      await waitFor(() => ids(second) >= 30, 40_000, 'every contribution counted after the restart');
      await second.processor.flush();
      await new Promise((r) => setTimeout(r, 500)); // late redeliveries must still not count
      const result = second.tally.result(1);
      assert.equal(ids(second), 30);
      assert.equal((result.counts.w0 ?? 0) + (result.counts.w1 ?? 0) + (result.counts.w2 ?? 0), 30);
    } finally {
      await second.stop();
    }
  });
});

describe('negative runs on real instances', () => {
  let t: Tutorial;
  let other: string;

  before(async () => {
    t = await setUpTutorial({ baseUrl: server.url, grpc: grpc(), print: () => {}, instances: 'compute' });
    // Another service account the operator may run workloads as, which the collaborators' conditions do not name.
    await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
    await t.operator.cli.sealroom(['iam', 'service-accounts', 'create', 'other-svc-account']);
    other = `other-svc-account@${t.operator.project}.iam.gserviceaccount.com`;
    await t.operator.cli.sealroom([
      'projects',
      'add-iam-policy-binding',
      t.operator.project,
      `--member=serviceAccount:${other}`,
      '--role=roles/confidentialcomputing.workloadUser',
    ]);
    await t.builder.cli.sealroom(['config', 'configurations', 'activate', 'builder'], { quiet: true });
    await t.builder.cli.sealroom([
      'artifacts',
      'repositories',
      'add-iam-policy-binding',
      'repo1',
      '--location=us-central1',
      `--member=serviceAccount:${other}`,
      '--role=roles/artifactregistry.reader',
    ]);
  });
  after(async () => {
    await t.close();
  });
  /** A collaborator publishes WORDS with the seed's client, under its own configuration. */
  const publish = async (c: Party, role: string, words: string) => {
    await c.cli.sealroom(['config', 'configurations', 'activate', role], { quiet: true });
    await c.cli.wordcount([
      'publish',
      `--topicProject=${t.operator.project}`,
      `--user=${words}`,
      `--kmsKey=${t.kmsKeyOf(c)}`,
      `--audience=${t.audienceOf(c)}`,
    ]);
  };

  test('stopping and starting the instance (a reboot) loses no count and double-counts nothing', async () => {
    const [c1, c2] = t.collaborators;
    const instance = await t.startInstance('vm-restart');
    try {
      await publish(c1, 'collaborator-1', 'alice,bob,carol,alice,bob,alice');
      await instance.waitForContributions(6, 120_000);
      await instance.stop();
      await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
      await t.operator.cli.sealroom(['compute', 'instances', 'start', 'vm-restart', '--zone=us-central1-a']);
      await publish(c2, 'collaborator-2', 'alice,dave,dave,erin');
      await instance.waitForContributions(10, 120_000);
      const output = await instance.serialOutput();
      assert.match(output, /"msg":"state restored","contributions":6/, 'the second boot opened the sealed state');
      await c1.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
      const result = JSON.parse(await c1.cli.wordcount(['results', `--project=${c1.project}`])) as WordcountResult;
      assert.deepEqual(result.contributions, { [c1.project]: 6, [c2.project]: 4 });
      assert.deepEqual(result.counts, { alice: 4, bob: 2, carol: 1, dave: 2, erin: 1 });
    } finally {
      await instance.stop();
    }
  });

  test('a hard reset mid-stream (the workload killed without warning) loses no count and double-counts nothing', async () => {
    const [c1, c2] = t.collaborators;
    // The sealed state belongs to the image, so this instance starts from what earlier tests counted.
    await c1.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
    const before = JSON.parse(await c1.cli.wordcount(['results', `--project=${c1.project}`])) as WordcountResult;
    const already = (p: string) => before.contributions[p] ?? 0;
    const total = Object.values(before.contributions).reduce((a, b) => a + b, 0);
    const instance = await t.startInstance('vm-reset');
    try {
      await publish(c1, 'collaborator-1', Array.from({ length: 40 }, (_, i) => `w${i % 4}`).join(','));
      await instance.waitForContributions(total + 1, 120_000);
      // Killed at once: whatever was received but not yet sealed and acked must come back, and only once.
      await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
      await t.operator.cli.sealroom(['compute', 'instances', 'reset', 'vm-reset', '--zone=us-central1-a']);
      await publish(c2, 'collaborator-2', Array.from({ length: 20 }, (_, i) => `w${i % 4}`).join(','));
      await instance.waitForContributions(total + 60, 180_000);
      const output = await instance.serialOutput();
      assert.match(output, /sealroom: hard reset/);
      await c1.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
      const result = JSON.parse(await c1.cli.wordcount(['results', `--project=${c1.project}`])) as WordcountResult;
      assert.deepEqual(result.contributions, {
        [c1.project]: already(c1.project) + 40,
        [c2.project]: already(c2.project) + 20,
      });
      for (const word of ['w0', 'w1', 'w2', 'w3']) assert.equal(result.counts[word], 15, word);
    } finally {
      await instance.stop();
    }
  });

  test("an image rebuilt with one changed byte is refused by the collaborators' STS, so nothing is counted", async () => {
    const [c1] = t.collaborators;
    await t.builder.cli.sealroom(['config', 'configurations', 'activate', 'builder'], { quiet: true });
    const host = new URL(server.url).host;
    // The same sources one second later: every timestamp in the image differs, so the digest does.
    const rebuilt = JSON.parse(
      await t.builder.cli.sealroom([
        'build',
        join(resolveRepoRoot(), 'examples', 'wordcount'),
        `--tag=${host}/${t.builder.project}/repo1/tee:rebuilt`,
        '--source-date-epoch=1',
        '--compression=none',
        '--format=json',
      ]),
    ) as { digest: string };
    assert.notEqual(rebuilt.digest, t.imageDigest);
    const imageReference = `${host}/${t.builder.project}/repo1/tee@${rebuilt.digest}`;
    const instance = await t.startInstance('vm-rebuilt', { imageReference });
    try {
      await c1.cli.sealroom(['config', 'configurations', 'activate', 'collaborator-1'], { quiet: true });
      await c1.cli.wordcount([
        'publish',
        `--topicProject=${t.operator.project}`,
        '--user=alice',
        `--kmsKey=${t.kmsKeyOf(c1)}`,
        `--audience=${t.audienceOf(c1)}`,
      ]);
      let output = '';
      const deadline = Date.now() + 120_000;
      // Every collaborator's provider pins the authorised digest: the workload's first token exchange fails.
      while (!/contribution rejected|the workload failed/.test(output)) {
        if (Date.now() > deadline) assert.fail(`no rejection in the serial output:\n${output.slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        output = await instance.serialOutput();
      }
      assert.match(output, /unauthorized_client/);
      assert.doesNotMatch(output, /sealed result published/);
    } finally {
      await instance.stop();
    }
  });

  const variants: [string, string, () => InstanceVariant][] = [
    ['a debug instance (the policy requires STABLE)', 'vm-debug', () => ({ debug: true })],
    ['an instance under another service account', 'vm-other', () => ({ serviceAccount: other })],
  ];
  for (const [what, name, variant] of variants) {
    test(`${what} boots the authorised image, and both collaborators' STS refuse it`, async () => {
      const instance = await t.startInstance(name, variant());
      try {
        const refusals = (output: string) => output.split('\n').filter((l) => l.includes('federated access refused'));
        let output = '';
        const deadline = Date.now() + 120_000;
        while (refusals(output).length < 2 && !output.includes('federated access granted')) {
          if (Date.now() > deadline) assert.fail(`no verdict in the serial output:\n${output.slice(-3000)}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
          output = await instance.serialOutput();
        }
        assert.doesNotMatch(output, /federated access granted/);
        for (const c of t.collaborators) {
          assert.ok(
            refusals(output).some((l) => l.includes(c.project)),
            `refused by ${c.project}\n${output}`,
          );
        }
        assert.doesNotMatch(output, /sealed result published/);
      } finally {
        await instance.stop();
      }
    });
  }
});
