// WAL checkpoints copied on a thread of their own. SQLite's automatic checkpoint runs inside the COMMIT that
// takes the log past 1,000 pages: that commit copies every page of the log into the database file, on the
// event loop, and each request waiting on the loop waits for it (the p99 of an audited request doubled). A
// second connection on a worker thread copies the log PASSIVE every 200 ms, which never blocks
// the writer; the writer's automatic checkpoint then finds the log all but copied, copies the rest and lets
// the next commit start the log over. (The thread alone cannot start it over: under steady writes a commit
// always lands during its copy, so the log would only grow.)
import { Worker } from 'node:worker_threads';

/** How often the thread copies: every 50 ms cost the event loop more than it saved (shared caches, two cores). */
export const CHECKPOINT_INTERVAL_MS = 200;

/** The thread's program: CommonJS, evaluated, so it needs no file of its own beside a bundle. */
const PROGRAM = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  db = new DatabaseSync(workerData.path);
  db.exec('PRAGMA busy_timeout = 0');
} catch {
  // The writer's own checkpoints copy everything then, as without the thread.
  process.exit(0);
}
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // Busy (the writer's checkpoint runs) or failing storage (the writer's own errors say so).
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the thread and closes its connection (before the writer closes, so its close can remove the log). */
  stop(): Promise<void>;
}

/** Starts checkpointing the database at `path` (in WAL mode) from a worker thread. */
export function startCheckpointer(path: string, intervalMs = CHECKPOINT_INTERVAL_MS): Checkpointer {
  const worker = new Worker(PROGRAM, { eval: true, workerData: { path, intervalMs } });
  // The process ends when the server does, whether or not the thread was stopped.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // A thread that fails leaves the copying to the writer's checkpoints; nothing else depends on it.
  worker.on('error', () => undefined);
  return {
    async stop() {
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 2_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
