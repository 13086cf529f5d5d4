// Turns delivered messages into counts: trust only configured collaborators, hold what fails transiently,
// dead-letter only what can never be counted, ack after sealing.
import type { Logger } from '@sealroom/core';
import { type RetryGate, type RetryGateOptions, classifyFailure, createRetryGate } from '@sealroom/workload';
import { type Contribution, openContribution, parseContribution } from './contribution.ts';
import { WordcountError } from './errors.ts';
import type { StateStore } from './sealed-state.ts';
import type { Tally } from './tally.ts';

/** A configured collaborator's keys, reached through its own STS and KMS. */
export interface CollaboratorKeys {
  unwrapDataKey(wrapped: Buffer): Promise<Buffer>;
  decrypt(ciphertext: Buffer, aad: Buffer): Promise<Buffer>;
}

/** What the processor needs of a delivered message (the Pub/Sub client's Message fits). */
export interface DeliveredMessage {
  readonly id: string;
  readonly attributes: Record<string, string>;
  readonly data: Buffer;
  ack(): void;
  /** Never counted, and never will be: the subscription's dead-letter policy takes it. */
  nack(): void;
  /**
   * For a sender waiting on the answer (the mTLS ingress): a transient failure is answered with this at
   * once, and the sender retries. Without it (Pub/Sub) the message is held and retried in place, so no
   * delivery attempt is spent on an outage.
   */
  retryLater?(): void;
}

export type Outcome = 'counted' | 'duplicate' | 'rejected' | 'retry-later' | 'abandoned';

export interface ProcessorOptions {
  readonly collaborators: ReadonlyMap<string, CollaboratorKeys>;
  readonly tally: Tally;
  readonly store: StateStore;
  readonly logger: Logger;
  /** Seal and ack after this many counted messages… */
  readonly flushEveryMessages?: number;
  /** …or this long after the first unflushed one. */
  readonly flushDelayMs?: number;
  /** Called after each flush that counted something. */
  readonly onFlushed?: () => void;
  /** Backoff of the retries through an outage of a collaborator's STS/KMS or the state's key. */
  readonly retry?: Pick<RetryGateOptions, 'initialMs' | 'maxMs' | 'multiplier' | 'jitter' | 'random'>;
}

export interface ProcessorStats {
  counted: number;
  duplicates: number;
  rejected: number;
  /** Messages waiting right now for a collaborator's STS or KMS to come back. */
  held: number;
  /** Transient failures met (each held message may meet several). */
  transientFailures: number;
}

export interface ContributionProcessor {
  handle(message: DeliveredMessage): Promise<Outcome>;
  /**
   * Seals the state, then acks every counted message: a crash before this loses nothing (redelivery).
   * While the state's key is unreachable it waits; `signal` bounds the wait (the messages stay unacked).
   */
  flush(signal?: AbortSignal): Promise<void>;
  /** A crash: forget counted-but-unsealed messages and held ones without acking them (Pub/Sub redelivers them). */
  abandon(): void;
  readonly stats: Readonly<ProcessorStats>;
}

/** After a permanent failure to seal (the state key refused), sealing is tried again this often. */
const SEAL_RETRY_MS = 30_000;

const seenKey = (c: Contribution) => `${c.collaborator}/${c.id}`;

export function createContributionProcessor(options: ProcessorOptions): ContributionProcessor {
  const { tally, store, logger } = options;
  const flushEvery = options.flushEveryMessages ?? 500;
  const flushDelayMs = options.flushDelayMs ?? 200;
  const stats: ProcessorStats = { counted: 0, duplicates: 0, rejected: 0, held: 0, transientFailures: 0 };
  let pending: DeliveredMessage[] = [];
  /** Contributions counted in the tally but not yet in a sealed snapshot. */
  const unsealed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  const abandoned = new AbortController();

  const gateFor = (dependency: string): RetryGate =>
    createRetryGate({
      ...options.retry,
      classify: (error) => {
        const failure = classifyFailure(error);
        if (failure.kind === 'transient') stats.transientFailures += 1;
        return failure;
      },
      // One line per outage each way: the reason, never a body, key or plaintext.
      onDown: (failure, retryInMs) =>
        logger.warn(
          { dependency, reason: failure.reason, retryInMs: Math.round(retryInMs) },
          'unreachable for now; holding its contributions and retrying',
        ),
      onUp: (downForMs) => logger.info({ dependency, downForMs }, 'reachable again; resuming'),
    });
  const gates = new Map([...options.collaborators.keys()].map((name) => [name, gateFor(name)]));
  const stateGate = gateFor('state key');

  const scheduleFlush = (delayMs: number) => {
    if (timer || abandoned.signal.aborted) return;
    timer = setTimeout(() => void flush(), delayMs);
    timer.unref();
  };

  const flush = (signal?: AbortSignal): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const stop = signal ? AbortSignal.any([signal, abandoned.signal]) : abandoned.signal;
    flushing = flushing.then(async () => {
      if (pending.length === 0 || stop.aborted) return;
      const batch = pending;
      pending = [];
      const sealing = [...unsealed];
      try {
        await stateGate.run(() => store.save(tally.snapshot()), stop);
      } catch (error) {
        // Never acked unsealed, never nacked (the counts are in the tally: a redelivery would be acked as a
        // duplicate before any seal). Kept for the next flush; a refusal is retried on a slow timer.
        pending = [...batch, ...pending];
        if (stop.aborted) return;
        logger.error(
          { reason: classifyFailure(error).reason, messages: batch.length },
          'sealing the state was refused; messages stay unacked and sealing is retried',
        );
        scheduleFlush(SEAL_RETRY_MS);
        return;
      }
      for (const key of sealing) unsealed.delete(key);
      for (const message of batch) message.ack();
      options.onFlushed?.();
    });
    return flushing;
  };

  const reject = (message: DeliveredMessage, error: unknown, collaborator?: string): Outcome => {
    stats.rejected += 1;
    const code = error instanceof WordcountError ? error.code : 'ERR_WORDCOUNT_DECRYPT_FAILED';
    // The reason goes to the instance log; never the body, a key or a plaintext.
    logger.warn(
      {
        messageId: message.id,
        collaborator,
        code,
        failure: classifyFailure(error).reason,
        reason: error instanceof Error ? error.message : String(error),
      },
      'contribution rejected; nacked for dead-lettering',
    );
    message.nack();
    return 'rejected';
  };

  /** Counted-but-unsealed contributions are acked with the flush that seals them, redeliveries included. */
  const addPending = (message: DeliveredMessage) => {
    pending.push(message);
    if (pending.length >= flushEvery) void flush();
    else scheduleFlush(flushDelayMs);
  };

  const duplicate = (message: DeliveredMessage, contribution: Contribution): Outcome => {
    stats.duplicates += 1;
    if (unsealed.has(seenKey(contribution))) addPending(message);
    else message.ack();
    return 'duplicate';
  };

  /** Opens the contribution, waiting through transient failures of the collaborator's STS/KMS. */
  const open = async (
    message: DeliveredMessage,
    contribution: Contribution,
    keys: CollaboratorKeys,
  ): Promise<{ word: string } | { outcome: Outcome }> => {
    const attempt = async () => ({ word: await openContribution(contribution, keys) });
    if (message.retryLater) {
      try {
        return await attempt();
      } catch (error) {
        if (classifyFailure(error).kind === 'permanent') {
          return { outcome: reject(message, error, contribution.collaborator) };
        }
        stats.transientFailures += 1;
        message.retryLater();
        return { outcome: 'retry-later' };
      }
    }
    stats.held += 1;
    try {
      return await (gates.get(contribution.collaborator) as RetryGate).run(attempt, abandoned.signal);
    } catch (error) {
      if (abandoned.signal.aborted) return { outcome: 'abandoned' };
      return { outcome: reject(message, error, contribution.collaborator) };
    } finally {
      stats.held -= 1;
    }
  };

  return {
    stats,
    flush,
    abandon() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = [];
      abandoned.abort(new WordcountError('ERR_WORDCOUNT_ABANDONED', 'the processor was abandoned'));
    },
    async handle(message) {
      if (abandoned.signal.aborted) return 'abandoned';
      let contribution: Contribution;
      try {
        contribution = parseContribution(message.attributes, message.data);
      } catch (error) {
        return reject(message, error);
      }
      const keys = options.collaborators.get(contribution.collaborator);
      if (!keys) {
        const error = new WordcountError(
          'ERR_WORDCOUNT_UNKNOWN_COLLABORATOR',
          `"${contribution.collaborator}" is not a configured collaborator`,
        );
        return reject(message, error, contribution.collaborator);
      }
      if (tally.has(contribution.collaborator, contribution.id)) return duplicate(message, contribution);
      const opened = await open(message, contribution, keys);
      if (abandoned.signal.aborted) return 'abandoned';
      if ('outcome' in opened) return opened.outcome;
      if (!tally.add(contribution.collaborator, contribution.id, opened.word)) return duplicate(message, contribution);
      unsealed.add(seenKey(contribution));
      stats.counted += 1;
      addPending(message);
      return 'counted';
    },
  };
}
