// The report channel between `sealroom launcher` and the host agent that started it: JSON lines, one record a
// line, both ways on one file descriptor (fd 3 by default). docs/launcher.md documents every record.
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { LauncherError } from '../errors.ts';

/** The version of the records below; a host refuses a launcher that speaks another. */
export const REPORT_CHANNEL_VERSION = 1;
/** A line longer than this is a broken peer: the channel closes. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** What the launcher reports, in the order it happens. */
export type LauncherReport =
  | { readonly t: 'hello'; readonly version: number; readonly pid: number }
  | { readonly t: 'serial'; readonly line: string }
  | { readonly t: 'status'; readonly status: 'RUNNING'; readonly message: string }
  | { readonly t: 'log'; readonly severity: 'INFO' | 'ERROR'; readonly message: string }
  | { readonly t: 'booted'; readonly bootCount: number; readonly runtime: string; readonly platform: string }
  | { readonly t: 'exited'; readonly exitCode: number; readonly failure?: string; readonly holding: boolean }
  | { readonly t: 'call'; readonly id: number; readonly op: string; readonly args: Record<string, unknown> };

/** What the host sends: a spare launcher's boot, answers to calls, and the order to stop. */
export type HostMessage =
  | { readonly t: 'boot'; readonly flags: Readonly<Record<string, string>> }
  | { readonly t: 'reply'; readonly id: number; readonly result?: unknown; readonly error?: string }
  | { readonly t: 'stop'; readonly hard: boolean };

/** Splits a stream into parsed JSON lines; a malformed or oversized line ends the channel. */
function readLines(stream: Duplex, onRecord: (record: Record<string, unknown>) => void, onBroken: () => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE_BYTES && !buffered.includes('\n')) {
      buffered = '';
      onBroken();
      return;
    }
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        onBroken();
        return;
      }
      if (record !== null && typeof record === 'object' && !Array.isArray(record))
        onRecord(record as Record<string, unknown>);
    }
  });
}

/** The launcher's end: reports, calls to the host, and the host's stop order. */
export interface LauncherChannel {
  report(record: LauncherReport): void;
  /** Asks the host; rejects with ERR_LAUNCHER_HOST_CHANNEL when it refuses or the channel closes. */
  call(op: string, args: Record<string, unknown>): Promise<unknown>;
  /** Called once with `hard` when the host says stop, or (not hard) when the channel closes: the host is gone. */
  onStop(listener: (hard: boolean) => void): void;
  /**
   * A spare launcher (started ahead, its modules loaded) waits here for the flags of the boot it is given;
   * undefined when the host closes the channel or says stop first.
   */
  boot(): Promise<Readonly<Record<string, string>> | undefined>;
  /** Flushes what was reported and closes the channel. */
  close(): Promise<void>;
}

/** Opens the launcher's end on an inherited file descriptor (`--report-fd`). */
export function openLauncherChannel(fd: number): LauncherChannel {
  return launcherChannelOn(new Socket({ fd, readable: true, writable: true }));
}

export function launcherChannelOn(stream: Duplex): LauncherChannel {
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const stopListeners: ((hard: boolean) => void)[] = [];
  let bootFlags: Readonly<Record<string, string>> | undefined;
  let bootWaiter: ((flags: Readonly<Record<string, string>> | undefined) => void) | undefined;
  let stopped: { hard: boolean } | undefined;
  const stop = (hard: boolean) => {
    if (stopped) return;
    stopped = { hard };
    bootWaiter?.(undefined);
    for (const listener of stopListeners) listener(hard);
  };
  const gone = () => {
    closed = true;
    for (const { reject } of pending.values())
      reject(new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', 'the host agent closed the report channel'));
    pending.clear();
    stop(false);
  };
  readLines(
    stream,
    (record) => {
      if (record.t === 'stop') stop(record.hard === true);
      if (record.t === 'boot' && bootFlags === undefined && record.flags !== null && typeof record.flags === 'object') {
        const flags: Record<string, string> = {};
        for (const [k, v] of Object.entries(record.flags)) if (typeof v === 'string') flags[k] = v;
        bootFlags = flags;
        bootWaiter?.(flags);
      }
      if (record.t === 'reply' && typeof record.id === 'number') {
        const waiter = pending.get(record.id);
        pending.delete(record.id);
        if (!waiter) return;
        if (typeof record.error === 'string')
          waiter.reject(new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', `the host refused: ${record.error}`));
        else waiter.resolve(record.result);
      }
    },
    () => stream.destroy(),
  );
  stream.on('end', gone);
  stream.on('close', gone);
  stream.on('error', gone);
  const write = (record: LauncherReport) => {
    if (!closed) stream.write(`${JSON.stringify(record)}\n`);
  };
  return {
    report: write,
    call(op, args) {
      if (closed) return Promise.reject(new LauncherError('ERR_LAUNCHER_HOST_CHANNEL', 'the report channel is closed'));
      const id = nextId;
      nextId += 1;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        write({ t: 'call', id, op, args });
      });
    },
    boot() {
      if (bootFlags !== undefined || stopped) return Promise.resolve(bootFlags);
      return new Promise((resolve) => {
        bootWaiter = resolve;
      });
    },
    onStop(listener) {
      // A listener added after the order came is told at once.
      if (stopped) listener(stopped.hard);
      else stopListeners.push(listener);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => {
        stream.end(() => {
          stream.destroy();
          resolve();
        });
      });
    },
  };
}

/** The host's end: every report to `onReport`, calls answered by `onCall`. */
export interface HostChannel {
  /** Gives a spare launcher its boot. */
  boot(flags: Readonly<Record<string, string>>): void;
  stop(hard: boolean): void;
  close(): void;
}

export function hostChannelOn(
  stream: Duplex,
  handlers: {
    readonly onReport: (record: LauncherReport) => void;
    readonly onCall: (op: string, args: Record<string, unknown>) => Promise<unknown>;
    /** A record that does not parse or a call that failed: said once to the host's own log. */
    readonly onProblem?: (what: string, error?: unknown) => void;
  },
): HostChannel {
  let open = true;
  const send = (message: HostMessage) => {
    if (open && !stream.destroyed) stream.write(`${JSON.stringify(message)}\n`);
  };
  readLines(
    stream,
    (record) => {
      if (record.t === 'call' && typeof record.id === 'number' && typeof record.op === 'string') {
        const id = record.id;
        const args = (record.args ?? {}) as Record<string, unknown>;
        handlers.onCall(record.op, args).then(
          (result) => send({ t: 'reply', id, result }),
          (error: unknown) => {
            handlers.onProblem?.(`the launcher's ${String(record.op)} call failed`, error);
            // The launcher gets the reason's code, never a stack or a payload.
            const code = (error as { code?: unknown }).code;
            send({ t: 'reply', id, error: typeof code === 'string' ? code : 'refused' });
          },
        );
        return;
      }
      handlers.onReport(record as LauncherReport);
    },
    () => {
      handlers.onProblem?.('the launcher wrote a malformed report line');
      stream.destroy();
    },
  );
  stream.on('error', () => {
    open = false;
  });
  stream.on('close', () => {
    open = false;
  });
  return {
    boot: (flags) => send({ t: 'boot', flags }),
    stop: (hard) => send({ t: 'stop', hard }),
    close() {
      open = false;
      stream.destroy();
    },
  };
}
