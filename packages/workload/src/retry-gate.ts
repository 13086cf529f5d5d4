// A retry gate in front of one dependency (a collaborator's STS and KMS): calls that fail transiently wait
// and retry; while it is down one probe at a time tests it, with capped exponential backoff and jitter.
import { type FailureClass, classifyFailure } from './failure.ts';

export interface RetryGateOptions {
  /** First wait after the dependency went down. */
  readonly initialMs?: number;
  /** The longest wait between probes, however long the outage. */
  readonly maxMs?: number;
  readonly multiplier?: number;
  /** ± fraction of each wait (0.2 = ±20 %), so many workloads do not probe in step. */
  readonly jitter?: number;
  /** Uniform in [0, 1). */
  readonly random?: () => number;
  readonly classify?: (error: unknown) => FailureClass;
  /** The first transient failure after a success; `retryInMs` is the first wait. */
  readonly onDown?: (failure: FailureClass, retryInMs: number) => void;
  /** The first success after an outage. */
  readonly onUp?: (downForMs: number) => void;
}

export const DEFAULT_RETRY_GATE = { initialMs: 1000, maxMs: 30_000, multiplier: 2, jitter: 0.2 } as const;

export type RetryGateState = 'up' | 'down' | 'probe-due' | 'probing';

export interface RetryGate {
  /**
   * Runs `fn`. A transient failure (classifyFailure) does not surface: the call waits until the dependency
   * answers again and is retried, as often as it takes. A permanent failure is thrown at once; so is the
   * abort `signal`'s reason, which is the only way a waiting call ends without an answer.
   */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly state: RetryGateState;
  /** Calls waiting for the dependency to come back. */
  readonly waiting: number;
}

/** The wait after the n-th failed probe in a row (n ≥ 1): capped exponential, then ± jitter. */
export function retryGateDelayMs(
  failures: number,
  random: number,
  backoff: { initialMs: number; maxMs: number; multiplier: number; jitter: number } = DEFAULT_RETRY_GATE,
): number {
  const interval = Math.min(backoff.initialMs * backoff.multiplier ** (failures - 1), backoff.maxMs);
  return Math.max(0, interval * (1 + backoff.jitter * (2 * random - 1)));
}

export function createRetryGate(options: RetryGateOptions = {}): RetryGate {
  const initialMs = options.initialMs ?? DEFAULT_RETRY_GATE.initialMs;
  const maxMs = options.maxMs ?? DEFAULT_RETRY_GATE.maxMs;
  const multiplier = options.multiplier ?? DEFAULT_RETRY_GATE.multiplier;
  const jitter = options.jitter ?? DEFAULT_RETRY_GATE.jitter;
  const random = options.random ?? Math.random;
  const classify = options.classify ?? classifyFailure;
  let state: RetryGateState = 'up';
  let failures = 0;
  let downSince = 0;
  let waiting = 0;
  let timer: NodeJS.Timeout | undefined;
  let changed = Promise.withResolvers<void>();

  const setState = (next: RetryGateState) => {
    state = next;
    const previous = changed;
    changed = Promise.withResolvers<void>();
    previous.resolve();
  };
  const markDown = (failure: FailureClass) => {
    failures += 1;
    const delay = retryGateDelayMs(failures, random(), { initialMs, maxMs, multiplier, jitter });
    if (state === 'up') {
      downSince = Date.now();
      options.onDown?.(failure, delay);
    }
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      setState('probe-due');
    }, delay);
    // A waiting gate must not keep a finished process alive; the callers' own work does.
    timer.unref();
    setState('down');
  };
  const markUp = () => {
    if (state === 'up') return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    failures = 0;
    options.onUp?.(Date.now() - downSince);
    setState('up');
  };
  const waitForChange = async (signal: AbortSignal | undefined) => {
    waiting += 1;
    try {
      if (!signal) return await changed.promise;
      const aborted = Promise.withResolvers<never>();
      const onAbort = () => aborted.reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await Promise.race([changed.promise, aborted.promise]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } finally {
      waiting -= 1;
    }
  };

  return {
    async run(fn, signal) {
      for (;;) {
        signal?.throwIfAborted();
        if (state === 'down' || state === 'probing') {
          await waitForChange(signal);
          continue;
        }
        const probing = state === 'probe-due';
        if (probing) state = 'probing';
        try {
          const result = await fn();
          markUp();
          return result;
        } catch (error) {
          const failure = classify(error);
          if (failure.kind === 'permanent') {
            // The dependency answered, so it is up: the calls waiting behind this probe go ahead.
            if (probing) markUp();
            throw error;
          }
          // Only the probe, or the first failure seen while up, moves the backoff on.
          if (probing || state === 'up') markDown(failure);
        }
      }
    },
    get state() {
      return state;
    },
    get waiting() {
      return waiting;
    },
  };
}
