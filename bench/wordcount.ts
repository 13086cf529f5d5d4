// Benchmark: word-count contributions per second through the whole pipeline (publish → deliver → federated token
// cached → unwrap → decrypt → count → seal state → ack) with two collaborators, envelope and per-message-KMS mode
// side by side, next to this machine's limits measured in the same run (bare Pub/Sub delivery, AES-GCM opens).
// Run: npm exec -- node bench/wordcount.ts [envelope-per-collaborator] [kms-per-collaborator]
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { silentLogger } from '@sealroom/core';
import { type ContributionMode, createContributionSealer, setUpTutorial, waitFor } from '@sealroom/example-wordcount';
import { createPubsubService } from '@sealroom/pubsub';
import { SERVICES, resolveServerConfig, startServer } from '@sealroom/server';
import {
  bearerCallCredentials,
  contributionAad,
  createDataKey,
  createKmsKeyWrapper,
  encryptWithDataKey,
} from '@sealroom/workload';
import * as grpc from '@grpc/grpc-js';
import { OAuth2Client } from 'google-auth-library';

const ENVELOPE_N = Number(process.argv[2] ?? 4000);
const KMS_N = Number(process.argv[3] ?? 300);
const BATCH = 500;

const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-bench-wordcount-'));
const services = SERVICES.some((s) => s.name === 'pubsub')
  ? SERVICES
  : [...SERVICES, { name: 'pubsub', factory: createPubsubService }];
const server = await startServer(resolveServerConfig({ dev: true, port: 0, grpcPort: 0, stateDir, logLevel: 'warn' }), {
  logger: silentLogger,
  services,
});
const grpcEndpoint = { host: '127.0.0.1', port: server.grpcPort ?? 0, caPem: server.tls.caPem };
const t = await setUpTutorial({ baseUrl: server.url, grpc: grpcEndpoint, print: () => {}, instances: 'dev' });

function userAuth(token: string): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_000_000 });
  return client;
}

async function sealAll(index: 0 | 1, n: number, mode: ContributionMode) {
  const c = t.collaborators[index];
  await c.cli.sealroom(['config', 'configurations', 'activate', `collaborator-${index + 1}`], { quiet: true });
  const token = await c.cli.accessToken();
  const kms = new KeyManagementServiceClient({
    fallback: true,
    protocol: 'http',
    apiEndpoint: '127.0.0.1',
    port: Number(new URL(server.url).port),
    authClient: userAuth(token),
  } as never);
  const sealer = createContributionSealer({
    collaborator: c.project,
    wrapper: createKmsKeyWrapper(kms as never, t.kmsKeyOf(c)),
    mode,
  });
  const messages = [];
  for (let i = 0; i < n; i++) {
    const wire = await sealer.seal(`word${i % 50}`);
    messages.push({ data: wire.data.toString('base64'), attributes: wire.attributes });
  }
  await kms.close();
  return { token, messages };
}

async function publish(topic: string, token: string, messages: unknown[]) {
  for (let i = 0; i < messages.length; i += BATCH) {
    const res = await fetch(`${server.url}/v1/${topic}:publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: messages.slice(i, i + BATCH) }),
    });
    if (!res.ok) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
  }
}

async function pipeline(mode: ContributionMode, perCollaborator: number) {
  const sealed = [await sealAll(0, perCollaborator, mode), await sealAll(1, perCollaborator, mode)];
  const workload = await t.startWorkload();
  const base = workload.processor.stats.counted;
  const topic = `projects/${t.operator.project}/topics/cs-topic`;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(sealed.map((s) => publish(topic, s.token, s.messages)));
  await waitFor(() => workload.processor.stats.counted - base >= 2 * perCollaborator, 600_000, `${mode} pipeline`);
  await workload.processor.flush();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await workload.stop();
  const n = 2 * perCollaborator;
  return { n, perSecond: n / seconds, cpuMicrosPerMessage: (used.user + used.system) / n };
}

/** The transport alone: the same publish path and the official subscriber acking at once. */
async function bareDelivery(n: number) {
  await t.operator.cli.sealroom(['config', 'configurations', 'activate', 'operator'], { quiet: true });
  const token = await t.operator.cli.accessToken();
  await t.operator.cli.rest('PUT', `/v1/projects/${t.operator.project}/topics/bench-raw`, {});
  await t.operator.cli.rest('PUT', `/v1/projects/${t.operator.project}/subscriptions/bench-raw`, {
    topic: `projects/${t.operator.project}/topics/bench-raw`,
  });
  const auth = userAuth(token);
  const pubsub = new PubSub({
    projectId: t.operator.project,
    apiEndpoint: `127.0.0.1:${grpcEndpoint.port}`,
    emulatorMode: false,
    authClient: auth,
    sslCreds: grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(Buffer.from(grpcEndpoint.caPem)),
      bearerCallCredentials(auth),
    ),
  } as never);
  let acked = 0;
  const subscription = pubsub.subscription(`projects/${t.operator.project}/subscriptions/bench-raw`);
  subscription.on('message', (m: Message) => {
    m.ack();
    acked += 1;
  });
  const payload = Buffer.from(
    JSON.stringify({ k: randomBytes(120).toString('base64'), c: randomBytes(40).toString('base64') }),
  );
  const messages = Array.from({ length: n }, (_, i) => ({
    data: payload.toString('base64'),
    attributes: { contribution_id: String(i) },
  }));
  const started = performance.now();
  await publish(`projects/${t.operator.project}/topics/bench-raw`, token, messages);
  await waitFor(() => acked >= n, 600_000, 'bare delivery');
  const perSecond = n / ((performance.now() - started) / 1000);
  await subscription.close();
  await pubsub.close();
  return perSecond;
}

function aesOpensPerSecond(): number {
  const key = createDataKey();
  const aad = contributionAad('00000000-0000-0000-0000-000000000000', 'collaborator-1');
  const sealed = encryptWithDataKey(key, Buffer.from('alice'), aad);
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < 1000) {
    for (let i = 0; i < 1000; i++) {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      d.update(sealed.subarray(12, sealed.length - 16));
      d.final();
    }
    n += 1000;
  }
  return n / ((performance.now() - started) / 1000);
}

try {
  const aes = aesOpensPerSecond();
  const bare = await bareDelivery(2 * ENVELOPE_N);
  const envelope = await pipeline('envelope', ENVELOPE_N);
  const perMessage = await pipeline('kms', KMS_N);
  const row = (name: string, r: { n: number; perSecond: number; cpuMicrosPerMessage: number }) =>
    `${name.padEnd(34)} ${r.n.toString().padStart(7)} msgs ${r.perSecond.toFixed(0).padStart(8)} /s ${(r.cpuMicrosPerMessage / 1000).toFixed(3).padStart(8)} ms CPU/msg`;
  process.stdout.write(
    [
      'word count, two collaborators, everything in one process on this machine (CPU includes server and publisher):',
      row('envelope (one unwrap per batch)', envelope),
      row('per-message KMS (the seed)', perMessage),
      `envelope / per-message:            ${(envelope.perSecond / perMessage.perSecond).toFixed(1)}x`,
      `limit: bare Pub/Sub publish→deliver→ack ${bare.toFixed(0)} /s (same path, no crypto, no state)`,
      `limit: AES-256-GCM opens              ${aes.toFixed(0)} /s on one core`,
      '',
    ].join('\n'),
  );
} finally {
  await t.close();
  await server.close();
  rmSync(stateDir, { recursive: true, force: true });
}
