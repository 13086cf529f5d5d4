// Turns delivered messages into counts: trust only configured collaborators, dead-letter what fails, ack after sealing.
import type { Logger } from '@sealroom/core';
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
  nack(): void;
}

export type Outcome = 'counted' | 'duplicate' | 'rejected';

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
}

export interface ProcessorStats {
  counted: number;
  duplicates: number;
  rejected: number;
}

export interface ContributionProcessor {
  handle(message: DeliveredMessage): Promise<Outcome>;
  /** Seals the state, then acks every counted message: a crash before this loses nothing (redelivery). */
  flush(): Promise<void>;
  /** A crash: forget counted-but-unsealed messages without acking them (Pub/Sub redelivers them). */
  abandon(): void;
  readonly stats: Readonly<ProcessorStats>;
}

export function createContributionProcessor(options: ProcessorOptions): ContributionProcessor {
  const { tally, store, logger } = options;
  const flushEvery = options.flushEveryMessages ?? 500;
  const flushDelayMs = options.flushDelayMs ?? 200;
  const stats: ProcessorStats = { counted: 0, duplicates: 0, rejected: 0 };
  let pending: DeliveredMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let abandoned = false;

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    flushing = flushing.then(async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      try {
        await store.save(tally.snapshot());
      } catch (error) {
        // Not acked: the messages come back, and the snapshot of the next flush still holds their counts.
        logger.error({ error, messages: batch.length }, 'sealing the state failed; messages left unacked');
        for (const message of batch) message.nack();
        return;
      }
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
      { messageId: message.id, collaborator, code, reason: error instanceof Error ? error.message : String(error) },
      'contribution rejected; nacked for dead-lettering',
    );
    message.nack();
    return 'rejected';
  };

  return {
    stats,
    flush,
    abandon() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = [];
      abandoned = true;
    },
    async handle(message) {
      if (abandoned) return 'rejected';
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
      if (tally.has(contribution.collaborator, contribution.id)) {
        stats.duplicates += 1;
        message.ack();
        return 'duplicate';
      }
      let word: string;
      try {
        word = await openContribution(contribution, keys);
      } catch (error) {
        return reject(message, error, contribution.collaborator);
      }
      if (abandoned) return 'rejected';
      if (!tally.add(contribution.collaborator, contribution.id, word)) {
        stats.duplicates += 1;
        message.ack();
        return 'duplicate';
      }
      stats.counted += 1;
      pending.push(message);
      if (pending.length >= flushEvery) void flush();
      else if (!timer) {
        timer = setTimeout(() => void flush(), flushDelayMs);
        timer.unref();
      }
      return 'counted';
    },
  };
}
