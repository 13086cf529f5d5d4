// Cross-replica change notifications over PostgreSQL LISTEN/NOTIFY, on one dedicated connection.
import { createLocalNotifications, type SqlNotifications } from '@sealroom/core';
import type pg from 'pg';

export interface PostgresNotificationsOptions {
  /** This process's id, carried in each payload so it does not handle its own changes twice. */
  readonly origin: string;
  /** A new, unconnected client for the LISTEN connection. */
  readonly connect: () => pg.Client;
  /** Sends one NOTIFY (through the pool). */
  readonly publish: (channel: string, payload: string) => Promise<void>;
  /** Wait before reconnecting a LISTEN connection that broke. */
  readonly reconnectDelayMs?: number;
}

/** What a handler receives when the LISTEN connection was re-established: changes may have been missed. */
export const MISSED_CHANGES = '*';

/**
 * A publish reaches this process's handlers at once and the other processes' through NOTIFY (sent after
 * the change committed, so a handler that re-reads sees it). Notifications sent while the LISTEN
 * connection was down are lost, so on reconnecting every handler is called with `MISSED_CHANGES` and
 * drops what it cached.
 */
export function createPostgresNotifications(
  options: PostgresNotificationsOptions,
): SqlNotifications & { close(): Promise<void> } {
  const local = createLocalNotifications();
  const channels = new Set<string>();
  const prefix = `${options.origin}:`;
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client | undefined> | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  // One statement at a time on the LISTEN connection: pg queues concurrent queries on a client, a use it
  // deprecates, and services subscribe to their channels all at once at start-up.
  let listening: Promise<unknown> = Promise.resolve();
  const listen = (c: pg.Client, channel: string): Promise<unknown> => {
    const next = listening.catch(() => {}).then(() => c.query(`LISTEN ${quoteIdentifier(channel)}`));
    listening = next;
    return next;
  };

  const reconnectLater = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void ensure().then((c) => {
        if (c) for (const channel of channels) local.deliver(channel, MISSED_CHANGES);
      });
    }, options.reconnectDelayMs ?? 1000);
    timer.unref();
  };

  const ensure = (): Promise<pg.Client | undefined> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = options.connect();
      c.on('error', () => {});
      c.on('end', () => {
        if (client === c) client = undefined;
        reconnectLater();
      });
      c.on('notification', (message) => {
        const payload = message.payload ?? '';
        if (payload.startsWith(prefix)) return;
        const at = payload.indexOf(':');
        local.deliver(message.channel, at === -1 ? payload : payload.slice(at + 1));
      });
      try {
        await c.connect();
        for (const channel of channels) await listen(c, channel);
      } catch {
        await c.end().catch(() => {});
        reconnectLater();
        return undefined;
      }
      if (closed) {
        await c.end().catch(() => {});
        return undefined;
      }
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    async publish(channel, payload) {
      local.deliver(channel, payload);
      await options.publish(channel, `${prefix}${payload}`);
    },
    subscribe(channel, handler) {
      const unsubscribe = local.subscribe(channel, handler);
      if (!channels.has(channel)) {
        channels.add(channel);
        void ensure()
          .then((c) => (c && channels.has(channel) ? listen(c, channel) : undefined))
          .catch(() => {});
      }
      return unsubscribe;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client ?? (await connecting);
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
