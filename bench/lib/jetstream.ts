// The machine's limit for Pub/Sub on NATS: 1 KiB messages published with pipelined acks (1,000 in flight),
// pull-consumed and acked, nothing else. Shared by the benchmarks that print it beside Sealroom's rate.
import { AckPolicy, connect, DeliverPolicy, RetentionPolicy } from 'nats';

/** Messages per second through a fresh interest stream and durable pull consumer, deleted afterwards. */
export async function bareJetStreamRate(url: string, messages: number, timeoutMs: number): Promise<number> {
  const nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const stream = `BENCH_BARE_${process.pid}`;
  const subject = `bench-bare-${process.pid}`;
  const payload = Buffer.alloc(1024, 7);
  await jsm.streams.add({ name: stream, subjects: [`${subject}.*`], retention: RetentionPolicy.Interest });
  await jsm.consumers.add(stream, {
    durable_name: 'c',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: 60e9,
    max_ack_pending: 100_000,
  });
  try {
    const started = performance.now();
    const publishing = (async () => {
      for (let i = 0; i < messages; i += 1000) {
        const window = [];
        for (let k = i; k < Math.min(messages, i + 1000); k++) window.push(js.publish(`${subject}.0`, payload));
        await Promise.all(window);
      }
    })();
    let consumed = 0;
    const deadline = Date.now() + timeoutMs;
    while (consumed < messages && Date.now() < deadline) {
      for await (const m of js.fetch(stream, 'c', { batch: 500, expires: 1000 })) {
        m.ack();
        consumed++;
      }
    }
    await publishing;
    await nc.flush();
    return consumed / ((performance.now() - started) / 1000);
  } finally {
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}
