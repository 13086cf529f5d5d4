// Costly CEL evaluations run on worker threads with a deadline, so no policy can stall the server's event loop.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CelPolicyError } from './errors.ts';
import type { CelEvaluation } from './program.ts';
import type { PolicyDecision, ProviderPolicySource } from './wif.ts';

/**
 * `inlineCost`: an evaluation whose estimated worst case is at most this many cost units runs on the
 * calling thread (at most about 200 ns per unit, so a few milliseconds); anything costlier goes to a
 * worker. `deadlineMs` is a backstop behind the runtime cost meter (which stops every admitted
 * evaluation in well under a second of CPU): a worker that has spent that much CPU time on one
 * evaluation is terminated and the evaluation denies. It counts the worker thread's own CPU time
 * where the system reports it (Linux), so a busy machine that starves the worker does not cut off
 * a legitimate evaluation; elsewhere it counts wall time. `wallLimitMs` cuts off any evaluation
 * after that much wall time whatever its CPU time. `maxQueued` bounds the evaluations waiting for a
 * worker; past it they fail as ERR_CEL_BUSY (UNAVAILABLE, retryable) instead of piling up.
 */
export const CEL_OFFLOAD_LIMITS = {
  inlineCost: 10_000,
  deadlineMs: 2_000,
  wallLimitMs: 30_000,
  maxQueued: 256,
} as const;

/** Worker starts that may fail in a row before waiting evaluations are refused. */
const MAX_FAILED_STARTS = 3;

/** Linux's USER_HZ: /proc reports CPU times in these ticks (100 per second on every Linux ABI). */
const PROC_TICKS_PER_SECOND = 100;

/** CPU time (ms) of one thread of this process, from /proc; undefined where that is not available. */
function threadCpuMs(tid: number | undefined): number | undefined {
  if (tid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / PROC_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** The facts an IAM condition reads: `request.time`, and `resource.name|type|service`. */
export interface IamConditionFacts {
  readonly nowMs: number;
  readonly name: string;
  readonly type: string;
  readonly service: string;
}

export type OffloadTask =
  | {
      readonly kind: 'decide';
      readonly source: ProviderPolicySource;
      readonly claims: unknown;
      readonly explain: boolean;
    }
  | { readonly kind: 'iam-condition'; readonly expression: string; readonly facts: IamConditionFacts };

/** An IAM condition's result across threads: only whether it held, or why not. */
export type IamConditionResult = { readonly ok: true; readonly value: boolean | null } | CelEvaluationFailure;
type CelEvaluationFailure = Extract<CelEvaluation, { ok: false }>;

interface Pending {
  readonly task: OffloadTask;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Set once the worker has loaded its modules; a deadline only counts evaluation time. */
  ready: boolean;
  /** The worker's OS thread id (Linux), to read its CPU time. */
  tid: number | undefined;
  busy: (Pending & { timer: NodeJS.Timeout; readonly id: number }) | undefined;
}

export interface CelWorkerPoolOptions {
  /** Worker threads; default one less than the machine's CPUs, at least 1 and at most 4. */
  readonly size?: number;
  readonly deadlineMs?: number;
  readonly maxQueued?: number;
}

export interface CelWorkerPool {
  /** A provider's decision on `claims`, computed on a worker (the result carries no CEL values). */
  decide(source: ProviderPolicySource, claims: unknown, options?: { explain?: boolean }): Promise<PolicyDecision>;
  /** One IAM condition on a worker. */
  evaluateIamCondition(expression: string, facts: IamConditionFacts): Promise<IamConditionResult>;
  /** Evaluations now running or waiting. */
  readonly load: number;
  /** Terminates every worker; evaluations still waiting fail as ERR_CEL_BUSY. */
  close(): Promise<void>;
}

const deadlineMessage = (ms: number) => `evaluation exceeded its deadline of ${ms} ms`;

export function createCelWorkerPool(options: CelWorkerPoolOptions = {}): CelWorkerPool {
  const size = options.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  const deadlineMs = options.deadlineMs ?? CEL_OFFLOAD_LIMITS.deadlineMs;
  const maxQueued = options.maxQueued ?? CEL_OFFLOAD_LIMITS.maxQueued;
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 0;
  let closed = false;
  let failedStarts = 0;

  /** What a task yields when it is cut off (deadline) or its worker died: a denial, never a grant. */
  const cutOff = (task: OffloadTask, message: string, code?: 'ERR_CEL_COST_LIMIT'): unknown =>
    task.kind === 'decide'
      ? ({
          granted: false,
          denial: {
            stage: 'condition',
            expression: 'attributeCondition',
            reason: `the policy's ${message}`,
            ...(code ? { code } : {}),
          },
        } satisfies PolicyDecision)
      : ({ ok: false, message, ...(code ? { code } : {}) } satisfies IamConditionResult);

  const spawn = (): Slot => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url));
    const slot: Slot = { worker, ready: false, tid: undefined, busy: undefined };
    worker.on('message', (message: { id: number; result: unknown } | { ready: true; tid?: number }) => {
      if ('ready' in message) {
        slot.ready = true;
        failedStarts = 0;
        slot.tid = message.tid;
        worker.unref();
        dispatch();
        return;
      }
      const job = slot.busy;
      if (!job || job.id !== message.id) return;
      clearTimeout(job.timer);
      slot.busy = undefined;
      worker.unref();
      job.resolve(message.result);
      dispatch();
    });
    const lost = (message: string) => {
      const index = slots.indexOf(slot);
      if (index < 0) return;
      slots.splice(index, 1);
      // A worker that cannot even start (out of memory, threads refused) must not be restarted forever.
      if (!slot.ready && ++failedStarts >= MAX_FAILED_STARTS) {
        failedStarts = 0;
        for (const pending of queue.splice(0)) {
          pending.reject(new CelPolicyError('ERR_CEL_BUSY', 'no CEL worker thread could be started; retry'));
        }
      }
      const job = slot.busy;
      slot.busy = undefined;
      if (job) {
        clearTimeout(job.timer);
        job.resolve(cutOff(job.task, message));
      }
      dispatch();
    };
    worker.on('error', () => lost('evaluation failed: its worker stopped'));
    worker.on('exit', () => lost('evaluation failed: its worker stopped'));
    // A worker keeps the process alive only while it starts or evaluates (pending work is awaited);
    // idle, it never does, and close() ends it for an orderly shutdown.
    slots.push(slot);
    return slot;
  };

  const dispatch = () => {
    while (!closed && queue.length > 0) {
      const slot = slots.find((s) => s.ready && s.busy === undefined);
      if (!slot) {
        // Start another worker only when none is idle or still starting; the queue waits for it.
        if (slots.length < size && !slots.some((s) => !s.ready)) spawn();
        return;
      }
      const pending = queue.shift() as Pending;
      const id = nextId++;
      const chosen = slot;
      const startedAt = Date.now();
      const cpuAtStart = threadCpuMs(chosen.tid);
      const check = () => {
        const job = chosen.busy;
        if (!job || job.id !== id) return;
        const cpuNow = cpuAtStart === undefined ? undefined : threadCpuMs(chosen.tid);
        const spentMs = cpuNow === undefined || cpuAtStart === undefined ? Date.now() - startedAt : cpuNow - cpuAtStart;
        if (spentMs < deadlineMs && Date.now() - startedAt < CEL_OFFLOAD_LIMITS.wallLimitMs) {
          // Starved rather than slow: wait for the rest of its CPU budget.
          job.timer = setTimeout(check, Math.max(10, deadlineMs - spentMs));
          return;
        }
        chosen.busy = undefined;
        job.resolve(cutOff(job.task, deadlineMessage(deadlineMs), 'ERR_CEL_COST_LIMIT'));
        // The worker may be stuck mid-evaluation: replace it rather than wait.
        const index = slots.indexOf(chosen);
        if (index >= 0) slots.splice(index, 1);
        void chosen.worker.terminate();
        dispatch();
      };
      const timer = setTimeout(check, deadlineMs);
      chosen.busy = { ...pending, timer, id };
      chosen.worker.ref();
      chosen.worker.postMessage({ id, task: pending.task });
    }
  };

  const submit = <T>(task: OffloadTask): Promise<T> => {
    if (closed) return Promise.reject(new CelPolicyError('ERR_CEL_BUSY', 'CEL evaluation is shutting down'));
    if (queue.length >= maxQueued) {
      return Promise.reject(
        new CelPolicyError('ERR_CEL_BUSY', `too many CEL evaluations are waiting (limit ${maxQueued}); retry`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      queue.push({ task, resolve: resolve as (value: unknown) => void, reject });
      dispatch();
    });
  };

  return {
    decide: (source, claims, decideOptions = {}) =>
      submit<PolicyDecision>({ kind: 'decide', source, claims, explain: decideOptions.explain === true }),
    evaluateIamCondition: (expression, facts) =>
      submit<IamConditionResult>({ kind: 'iam-condition', expression, facts }),
    get load() {
      return queue.length + slots.filter((s) => s.busy !== undefined).length;
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0)) {
        pending.reject(new CelPolicyError('ERR_CEL_BUSY', 'CEL evaluation is shutting down'));
      }
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
    },
  };
}

let shared: CelWorkerPool | undefined;

/** The process's pool, started on first use; its idle workers never keep the process alive. */
export function sharedCelWorkerPool(): CelWorkerPool {
  shared ??= createCelWorkerPool();
  return shared;
}
