// Publishes a batch of messages to JetStream through one reply subscription, resolving once every message is stored.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from 'nats';

/** One message of a batch: its subject (which selects the stream) and what it carries. */
export interface NatsPublishItem {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
}

/** How the batch ended when it did not store every message. */
export type NatsPublishFailure =
  | { readonly kind: 'rejected'; readonly description: string }
  | { readonly kind: 'no-stream' }
  | { readonly kind: 'timeout'; readonly stored: number }
  | { readonly kind: 'connection'; readonly cause: unknown };

/** A whole batch answers within this (the client library's own default for one JetStream publish). */
export const NATS_PUBLISH_TIMEOUT_MS = 5_000;

interface PubAck {
  readonly seq?: number;
  readonly error?: { readonly description?: string };
}

/**
 * Sends every message of the batch at once, each with its own reply subject under one inbox, and resolves with
 * the stream sequence JetStream assigned each (in batch order) when all are acknowledged, which JetStream does
 * only once the message is stored. The client library's `js.publish` does the same for one message with a
 * request object, a timer and a captured stack each; a batch of a thousand needs one subscription and one timer.
 * Any rejected message fails the batch (the caller answers the whole publish with an error; the client retries
 * it, within Pub/Sub's at-least-once contract).
 */
export function publishBatch(
  nc: NatsConnection,
  items: readonly NatsPublishItem[],
  timeoutMs = NATS_PUBLISH_TIMEOUT_MS,
): Promise<{ readonly seqs: number[] } | { readonly failure: NatsPublishFailure }> {
  return new Promise((resolve) => {
    const seqs = new Array<number>(items.length);
    let stored = 0;
    let done = false;
    const inbox = createInbox();
    const finish = (failure?: NatsPublishFailure) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(failure ? { failure } : { seqs });
    };
    const onReply = (msg: Msg) => {
      const index = Number(msg.subject.slice(inbox.length + 1));
      if (msg.data.length === 0 && (msg.headers?.code ?? 0) === 503) return finish({ kind: 'no-stream' });
      let ack: PubAck;
      try {
        ack = msg.json<PubAck>();
      } catch {
        return finish({ kind: 'rejected', description: 'an unreadable publish acknowledgement' });
      }
      if (ack.error || typeof ack.seq !== 'number') {
        return finish({ kind: 'rejected', description: ack.error?.description ?? 'no sequence' });
      }
      if (!Number.isInteger(index) || index < 0 || index >= items.length || seqs[index] !== undefined) return;
      seqs[index] = ack.seq;
      if (++stored === items.length) finish();
    };
    const sub = nc.subscribe(`${inbox}.*`, {
      callback: (error, msg) => (error ? finish({ kind: 'connection', cause: error }) : onReply(msg)),
    });
    const timer = setTimeout(() => finish({ kind: 'timeout', stored }), timeoutMs);
    try {
      // The subscription went out first on the same connection, so no acknowledgement can arrive before it.
      items.forEach((item, i) => {
        nc.publish(item.subject, item.data, {
          reply: `${inbox}.${i}`,
          ...(item.headers ? { headers: item.headers } : {}),
        });
      });
    } catch (error) {
      finish({ kind: 'connection', cause: error });
    }
    if (items.length === 0) finish();
  });
}
