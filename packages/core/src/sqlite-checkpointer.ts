// WAL checkpoints copied on a thread of their own, while the writer holds its writes back. SQLite's automatic
// checkpoint runs inside the COMMIT that takes the log past its threshold: that commit copies the log into the
// database file and syncs it, on the event loop, and every request waiting on the loop waits for it. A second
// connection on a worker thread copies the log instead (PASSIVE, which never blocks anyone). Copying alone is not
// enough: SQLite starts the log over only when a write finds it wholly copied, and under steady writes a commit
// always lands during a copy that runs beside it, so the log would only grow and the writer's own checkpoint
// would still run. So the writer asks for two copies in turn: one beside its writes (the bulk of the log), then
// one during which it starts no write (what the writes added meanwhile, and the syncs: a few milliseconds; its
// reads go on, and so does the rest of the event loop's work). The second takes the whole log, and the next
// write starts it over. The writer's own automatic checkpoint stays as a safety net at a higher threshold.
import { Worker } from 'node:worker_threads';

/** How often the writer asks for a copy when it wrote since the last one. */
export const CHECKPOINT_INTERVAL_MS = 200;
/** The writer's own threshold (pages of log) while a thread copies: reached only if the thread falls behind. */
export const WRITER_AUTOCHECKPOINT_PAGES = 4000;
/** A copy not answered within this is given up on; the writer goes on (PASSIVE never blocks it). */
const ANSWER_TIMEOUT_MS = 2_000;

/** The thread's program: CommonJS, evaluated, so it needs no file of its own beside a bundle. */
const PROGRAM = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
let db;
let checkpoint;
try {
  db = new DatabaseSync(workerData.path);
  db.exec('PRAGMA busy_timeout = 0');
  checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
} catch {
  // The writer's own checkpoints copy everything then, as without the thread.
  process.exit(0);
}
parentPort.on('message', (message) => {
  if (message === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    checkpoint.get();
  } catch {
    // Busy (another process checkpoints) or failing storage (the writer's own errors say so).
  }
  parentPort.postMessage(message);
});
`;

export interface Checkpointer {
  /**
   * Copies the log into the database file, as far as no reader holds it back; resolves once done, or at once when
   * the thread is gone or still busy with another copy, or after a time if it does not answer. Never rejects. A
   * write on the caller's connection before it resolves keeps the copy from taking the whole log.
   */
  copy(): Promise<void>;
  /** Stops the thread and closes its connection (before the writer closes, so its close can remove the log). */
  stop(): Promise<void>;
}

/** Starts a thread that copies the log of the database at `path` (in WAL mode) when asked. */
export function startCheckpointer(path: string): Checkpointer {
  const worker = new Worker(PROGRAM, { eval: true, workerData: { path } });
  let alive = true;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      gone();
      resolve();
    }),
  );
  // A thread that fails leaves the copying to the writer's checkpoints; nothing else depends on it.
  worker.on('error', () => gone());
  /** The copy asked for and not yet answered (one at a time); an answer to another (timed out) is ignored. */
  let waiting: { readonly id: number; readonly settle: () => void } | undefined;
  let asked = 0;
  function gone(): void {
    alive = false;
    const answer = waiting;
    waiting = undefined;
    answer?.settle();
  }
  worker.on('message', (id: number) => {
    if (waiting?.id !== id) return;
    const { settle } = waiting;
    waiting = undefined;
    settle();
  });
  // The process ends when the server does, whether or not the thread was stopped. After the listeners: a
  // 'message' listener refs the thread's port again.
  worker.unref();
  return {
    copy() {
      if (!alive || waiting !== undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const id = ++asked;
        const timeout = setTimeout(() => {
          if (waiting?.id === id) waiting = undefined;
          resolve();
        }, ANSWER_TIMEOUT_MS);
        timeout.unref();
        waiting = {
          id,
          settle: () => {
            clearTimeout(timeout);
            resolve();
          },
        };
        worker.postMessage(id);
      });
    },
    async stop() {
      if (alive) worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 2_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
