// The serial console as server-sent events: new lines and status changes as they land in the store.
import { Readable } from 'node:stream';
import type { Instance } from './instance.types.ts';

/** Polls the store, which every replica shares, so a stream works whichever replica runs the instance. */
export const SERIAL_POLL_MS = 500;
/** A stream ends after this long with `event: end` (reason `reconnect`); the client resumes from its last id. */
export const SERIAL_STREAM_MAX_MS = 10 * 60 * 1000;
const HEARTBEAT_MS = 15_000;
const LINES_PER_POLL = 500;

export interface SerialBatch {
  readonly instance: Instance;
  readonly lines: readonly { readonly seq: number; readonly line: string }[];
}

export interface SerialStreamOptions {
  /** Lines after `afterSeq`; throws when the caller may no longer read them or the instance is gone. */
  readonly poll: (afterSeq: number, limit: number) => Promise<SerialBatch>;
  readonly afterSeq: number;
  /** The stream also ends when the caller's credential expires. */
  readonly endAtMs: number;
  readonly now: () => number;
  readonly pollMs?: number;
}

/** Open streams, so that a stopping server can end them instead of waiting for them. */
export interface SerialStreams {
  open(options: SerialStreamOptions): Readable;
  /** How many streams are open now. */
  openCount(): number;
  closeAll(): void;
}

function event(name: string, data: string, id?: number): string {
  const lines = data.split(/\r?\n/).map((l) => `data: ${l}`);
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\n${lines.join('\n')}\n\n`;
}

function statusOf(instance: Instance): string {
  return JSON.stringify({
    status: instance.status,
    statusMessage: instance.statusMessage,
    bootCount: instance.bootCount,
    ...(instance.lastExitCode === undefined ? {} : { lastExitCode: instance.lastExitCode }),
  });
}

export function createSerialStreams(): SerialStreams {
  const open = new Set<() => void>();
  return {
    open(options) {
      let cursor = options.afterSeq;
      let lastStatus = '';
      let lastWrite = options.now();
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      const started = options.now();
      const stream = new Readable({ read() {} });
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        open.delete(stop);
        stream.push(event('end', JSON.stringify({ reason })));
        stream.push(null);
      };
      const stop = () => end('server stopping');
      const tick = async () => {
        if (ended) return;
        const now = options.now();
        if (now >= options.endAtMs) return end('credential expired');
        if (now - started >= SERIAL_STREAM_MAX_MS) return end('reconnect');
        try {
          const batch = await options.poll(cursor, LINES_PER_POLL);
          if (ended) return;
          const status = statusOf(batch.instance);
          if (status !== lastStatus) {
            stream.push(event('instance', status));
            lastStatus = status;
            lastWrite = now;
          }
          for (const { seq, line } of batch.lines) {
            stream.push(event('serial', line, seq));
            cursor = seq;
            lastWrite = now;
          }
          if (now - lastWrite >= HEARTBEAT_MS) {
            stream.push(': keep-alive\n\n');
            lastWrite = now;
          }
          // A full batch means more is waiting: read it at once.
          timer = setTimeout(tick, batch.lines.length === LINES_PER_POLL ? 0 : (options.pollMs ?? SERIAL_POLL_MS));
        } catch {
          end('the instance is gone or no longer readable with this credential');
        }
      };
      stream.on('close', () => {
        ended = true;
        clearTimeout(timer);
        open.delete(stop);
      });
      open.add(stop);
      void tick();
      return stream;
    },
    openCount() {
      return open.size;
    },
    closeAll() {
      for (const stop of [...open]) stop();
    },
  };
}
