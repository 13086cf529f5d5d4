// One end of the host channel: newline-delimited JSON frames over an HTTP/2 stream, with request/response calls.
import type { Duplex } from 'node:stream';
import { COMPUTE_ERRORS, type ComputeErrorCode, ComputeError } from '../errors.ts';

/** A frame larger than this ends the channel: no lawful frame (a serial line, an exec's output) comes close. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** A call not answered within this long fails (the other end is gone or stuck). */
export const CALL_TIMEOUT_MS = 120_000;

export type Frame = { readonly type: string } & Record<string, unknown>;

export interface CallError {
  readonly code?: string;
  readonly message: string;
}

export interface Peer {
  send(frame: Frame): void;
  /** Sends `{type:'call', id, op, ...args}` and resolves with the `value` of the matching result frame. */
  call(op: string, args: Record<string, unknown>): Promise<unknown>;
  close(): void;
  readonly closed: Promise<void>;
}

export interface PeerOptions {
  /** A frame that is not a call nor a result. */
  readonly onFrame: (frame: Frame) => void;
  /** Answers the other end's calls; a throw becomes an error result (its message, and its code when it has one). */
  readonly onCall: (op: string, frame: Frame) => Promise<unknown>;
}

/** The other end's error as a catalogued one: its own code when it is compute's, else a channel failure. */
function callError(error: CallError): ComputeError {
  const code = error.code !== undefined && error.code in COMPUTE_ERRORS ? (error.code as ComputeErrorCode) : undefined;
  return new ComputeError(code ?? 'ERR_COMPUTE_HOST_CHANNEL', error.message);
}

export function createPeer(stream: Duplex, options: PeerOptions): Peer {
  let nextId = 1;
  let buffered = '';
  let ended = false;
  const pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const finish = () => {
    if (ended) return;
    ended = true;
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(callError({ code: 'CHANNEL_CLOSED', message: 'the host channel closed' }));
    }
    pending.clear();
    markClosed();
  };
  const send = (frame: Frame) => {
    if (ended || stream.destroyed || stream.writableEnded) return;
    stream.write(`${JSON.stringify(frame)}\n`);
  };
  const answer = async (frame: Frame) => {
    const id = frame.id;
    try {
      const value = await options.onCall(String(frame.op), frame);
      send({ type: 'result', id, ok: true, ...(value === undefined ? {} : { value }) });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      send({
        type: 'result',
        id,
        ok: false,
        message: error instanceof Error ? error.message : 'the call failed',
        ...(typeof code === 'string' ? { code } : {}),
      });
    }
  };
  const handle = (line: string) => {
    let frame: Frame;
    try {
      frame = JSON.parse(line) as Frame;
    } catch {
      stream.destroy(callError({ message: 'malformed frame' }));
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') {
      stream.destroy(callError({ message: 'malformed frame' }));
      return;
    }
    if (frame.type === 'call' && typeof frame.id === 'number') {
      void answer(frame);
      return;
    }
    if (frame.type === 'result' && typeof frame.id === 'number') {
      const waiting = pending.get(frame.id);
      if (!waiting) return;
      pending.delete(frame.id);
      clearTimeout(waiting.timer);
      if (frame.ok === true) waiting.resolve(frame.value);
      else
        waiting.reject(
          callError({
            message: typeof frame.message === 'string' ? frame.message : 'the call failed',
            ...(typeof frame.code === 'string' ? { code: frame.code } : {}),
          }),
        );
      return;
    }
    options.onFrame(frame);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.length > 0) handle(line);
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > MAX_FRAME_BYTES) stream.destroy(callError({ message: 'frame too large' }));
  });
  stream.on('close', finish);
  stream.on('end', finish);
  stream.on('error', finish);
  return {
    send,
    call(op, args) {
      if (ended) return Promise.reject(callError({ code: 'CHANNEL_CLOSED', message: 'the host channel closed' }));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(callError({ code: 'CALL_TIMEOUT', message: `the call ${op} was not answered in time` }));
        }, CALL_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        send({ ...args, type: 'call', id, op });
      });
    },
    close() {
      if (!stream.destroyed) stream.end();
      finish();
    },
    closed,
  };
}
