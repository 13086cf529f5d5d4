// Pub/Sub load from its own process: the unmodified @google-cloud/pubsub client over gRPC TLS with a bearer token,
// one client per replica. It creates a topic and a subscription, publishes `messages` 1 KiB messages spread
// round-robin over the replicas, consumes them with a StreamingPull subscriber on every replica (acking each), and
// reports end-to-end messages per second; then deletes the subscription and the topic (on NATS, their streams).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface PubsubLoadSpec {
  /** `host:port` of each replica's gRPC TLS listener. */
  readonly targets: readonly string[];
  /** The deployment CA (PEM file) the listeners' certificates chain to. */
  readonly caPath: string;
  readonly token: string;
  readonly project: string;
  readonly topic: string;
  readonly messages: number;
  readonly timeoutMs: number;
}

export interface PubsubLoadResult {
  /** Distinct messages received and acked per second, from the first publish to the last arrival. */
  readonly rate: number;
  readonly seconds: number;
  /** Deliveries beyond the first of a message (redeliveries within the at-least-once contract). */
  readonly duplicates: number;
}

/** Runs the worker process on `spec`; resolves with its figures. */
export async function runPubsubLoad(spec: PubsubLoadSpec): Promise<PubsubLoadResult> {
  const child = spawn(process.execPath, ['--disable-warning=DEP0123', fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // The client trusts the deployment CA the way an application on the deployment does; it names the replicas
    // by IP address (DEP0123: a TLS server name that is an IP address, ignored by Node).
    env: { ...process.env, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: spec.caPath },
  });
  child.stdin.end(JSON.stringify(spec));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`Pub/Sub load worker exited with ${code}`);
  return JSON.parse(out) as PubsubLoadResult;
}

async function work(spec: PubsubLoadSpec): Promise<PubsubLoadResult> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const { OAuth2Client } = await import('google-auth-library');
  const clients = spec.targets.map((target) => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: spec.token, expiry_date: Date.now() + 3_600_000 });
    return new PubSub({ projectId: spec.project, apiEndpoint: target, emulatorMode: false, authClient });
  });
  const first = clients[0] as InstanceType<typeof PubSub>;
  const subscriptionId = `${spec.topic}-sub`;
  const [topic] = await first.createTopic(spec.topic);
  const [subscription] = await topic.createSubscription(subscriptionId, { ackDeadlineSeconds: 60 });
  const publishers = clients.map((c) => c.topic(spec.topic, { batching: { maxMessages: 100, maxMilliseconds: 5 } }));
  const subscribers = clients.map((c) =>
    c.subscription(subscriptionId, { flowControl: { maxMessages: Math.ceil(5000 / clients.length) } }),
  );
  const payload = Buffer.alloc(1024, 7);
  const seen = new Set<string>();
  let deliveries = 0;
  const started = performance.now();
  try {
    const received = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${seen.size} of ${spec.messages} messages arrived`)),
        spec.timeoutMs,
      );
      for (const sub of subscribers) {
        sub.on('error', (error: Error) => console.error(`subscriber: ${error.message}`));
        sub.on('message', (m: { id: string; ack(): void }) => {
          deliveries++;
          seen.add(m.id);
          m.ack();
          if (seen.size === spec.messages) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
    for (let i = 0; i < spec.messages; i += 1000) {
      const window = [];
      for (let k = i; k < Math.min(spec.messages, i + 1000); k++) {
        window.push(publishers[k % publishers.length]?.publishMessage({ data: payload }));
      }
      await Promise.all(window);
    }
    await received;
    const seconds = (performance.now() - started) / 1000;
    return { rate: spec.messages / seconds, seconds, duplicates: deliveries - seen.size };
  } finally {
    await Promise.all(subscribers.map((s) => s.close()));
    await subscription.delete().catch(() => undefined);
    await topic.delete().catch(() => undefined);
    await Promise.all(clients.map((c) => c.close()));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const result = await work(JSON.parse(input) as PubsubLoadSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
