// A minimal Chrome DevTools Protocol client for a server started with `--inspect=127.0.0.1:0`: its memory figures
// and heap snapshots, read from outside so no debug route exists in the product.
import { createWriteStream } from 'node:fs';

export interface MemoryFigures {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface Inspector {
  memory(): Promise<MemoryFigures>;
  /** A full garbage collection in the server (to tell garbage from retained memory). */
  collectGarbage(): Promise<void>;
  /** Writes a `.heapsnapshot` of the server to `path`. */
  heapSnapshot(path: string): Promise<void>;
  close(): void;
}

/** Finds the `ws://…` address the server printed ("Debugger listening on …") in `logs`. */
export function inspectorUrlOf(logs: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(logs)?.[1];
}

export async function connectInspector(url: string): Promise<Inspector> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let onChunk: ((chunk: string) => void) | undefined;
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: { chunk?: string };
    };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') onChunk?.(message.params?.chunk ?? '');
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new Error(message.error.message));
    else waiter?.resolve(message.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async memory() {
      const result = (await send('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      return JSON.parse(result.result.value) as MemoryFigures;
    },
    async collectGarbage() {
      await send('HeapProfiler.collectGarbage');
    },
    async heapSnapshot(path) {
      const out = createWriteStream(path);
      onChunk = (chunk) => out.write(chunk);
      await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      onChunk = undefined;
      await new Promise<void>((resolve) => out.end(resolve));
    },
    close() {
      socket.close();
    },
  };
}
