// Worker thread of the CEL pool (offload.ts): compiles policies once, evaluates them, returns plain data.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { iamConditionBindings, compileIamCondition } from './iam-condition.ts';
import type { IamConditionResult, OffloadTask } from './offload.ts';
import type { CelEvaluation, CelExplanation, CelProgram } from './program.ts';
import { compileProviderPolicy, type PolicyDecision, type ProviderPolicy } from './wif.ts';

const CACHE_LIMIT = 1_000;
/** Nice value of the worker threads (the event loop keeps the process's, usually 0). */
const WORKER_NICE = 10;
/** Compiled programs by source; null for a source that does not compile (it denies). */
const policies = new Map<string, ProviderPolicy | null>();
const conditions = new Map<string, CelProgram | null>();

function cached<T>(cache: Map<string, T | null>, key: string, compile: () => T): T | null {
  let entry = cache.get(key);
  if (entry === undefined) {
    try {
      entry = compile();
    } catch {
      entry = null;
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, entry);
  }
  return entry;
}

/** A CEL value other than a bool crosses threads as null: callers only ask whether a result is true or false. */
function plainEvaluation(result: CelEvaluation): CelEvaluation {
  if (!result.ok) return { ...result };
  return { ok: true, value: typeof result.value === 'boolean' ? result.value : null };
}

function plainExplanation(explanation: CelExplanation): CelExplanation {
  return {
    result: plainEvaluation(explanation.result),
    operator: explanation.operator,
    clauses: explanation.clauses.map((c) => ({ ...c, span: { ...c.span } })),
  };
}

function decide(task: Extract<OffloadTask, { kind: 'decide' }>): PolicyDecision {
  // Stored policies passed the cost estimate when saved; the runtime limit bounds them here.
  const policy = cached(policies, JSON.stringify(task.source), () =>
    compileProviderPolicy(task.source, { estimatedCostLimit: Number.POSITIVE_INFINITY }),
  );
  if (policy === null) {
    return {
      granted: false,
      denial: { stage: 'condition', expression: 'attributeCondition', reason: 'the policy does not compile' },
    };
  }
  const decision = policy.decide(task.claims, { explain: task.explain });
  return decision.explanation ? { ...decision, explanation: plainExplanation(decision.explanation) } : decision;
}

function evaluateCondition(task: Extract<OffloadTask, { kind: 'iam-condition' }>): IamConditionResult {
  const program = cached(conditions, task.expression, () =>
    compileIamCondition(task.expression, { estimatedCostLimit: Number.POSITIVE_INFINITY }),
  );
  if (program === null) return { ok: false, message: 'the condition does not compile' };
  const result = plainEvaluation(program.evaluate(iamConditionBindings(task.facts)));
  return result.ok ? { ok: true, value: result.value as boolean | null } : result;
}

parentPort?.on('message', (message: { id: number; task: OffloadTask }) => {
  const { id, task } = message;
  const result = task.kind === 'decide' ? decide(task) : evaluateCondition(task);
  parentPort?.postMessage({ id, result });
});

/**
 * Returns this thread's OS id (Linux), and runs the thread at a lower CPU priority than the event
 * loop's, so that on a busy machine the thread answering requests wins the CPU over a costly
 * evaluation. Linux only: there setpriority(2) takes a thread id, found through /proc/thread-self.
 * Elsewhere, or when refused, the thread keeps the process's priority.
 */
function lowerThreadPriority(): number | undefined {
  let tid: number | undefined;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0 || tid === process.pid) return undefined;
    setPriority(tid, WORKER_NICE);
  } catch {
    // Not Linux, or not permitted: same priority as the event loop.
  }
  return tid;
}

/** The pool counts this thread's CPU time (by its id) against the evaluation deadline. */
const tid = lowerThreadPriority();
parentPort?.postMessage(tid === undefined ? { ready: true } : { ready: true, tid });
