// Publishing results under the image's output policy: release once, log the release in each collaborator's
// transparency log, and hand each collaborator its result with the checkpoint it was produced at.
import { createHash } from 'node:crypto';
import type { Logger, OutputPolicy } from '@sealroom/core';
import { type Release, type UniformSource, WorkloadError, releaseResult } from '@sealroom/workload';
import type { Tally, WordcountResult } from './tally.ts';

export type ReleaseFacts = Record<string, string | number | boolean>;

/** One collaborator as a result goes to it. */
export interface ResultRecipient {
  readonly name: string;
  /** Appends the release to the collaborator's transparency log: the entry index and a checkpoint holding it. */
  appendRelease(facts: ReleaseFacts): Promise<{ index: number; checkpoint: string }>;
  /** Seals the result under the collaborator's key and stores it. */
  deliver(result: WordcountResult): Promise<void>;
}

export interface ResultPublisherOptions {
  readonly tally: Tally;
  readonly policy: OutputPolicy;
  /** Where the policy came from, for the log entry: the token (agreed by every collaborator) or the config. */
  readonly policySource: 'token' | 'config';
  readonly recipients: readonly ResultRecipient[];
  /** Seals the workload's state (the privacy ledger with it); called after a charge, before any release. */
  readonly save: () => Promise<void>;
  readonly logger: Logger;
  readonly uniform?: UniformSource;
}

export interface ResultPublisher {
  publish(): Promise<void>;
}

function digestOf(values: Readonly<Record<string, number>>): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(Object.entries(values)))
    .digest('hex')}`;
}

export function createResultPublisher(options: ResultPublisherOptions): ResultPublisher {
  const { tally, policy, logger } = options;
  const names = options.recipients.map((r) => r.name);
  let last: { counted: number; release: Release } | undefined;

  /** A result already released is released again for free; new counts need a new release (and budget). */
  const release = async (): Promise<Release | undefined> => {
    const counted = tally.snapshot().seen.length;
    if (last && last.counted === counted) return last.release;
    try {
      const fresh = await releaseResult(tally.values(), policy, {
        collaborators: names,
        ledger: tally.ledger,
        persist: options.save,
        ...(options.uniform ? { uniform: options.uniform } : {}),
      });
      last = { counted, release: fresh };
      return fresh;
    } catch (error) {
      if (error instanceof WorkloadError && error.code === 'ERR_WORKLOAD_PRIVACY_BUDGET') {
        logger.warn({ code: error.code, reason: error.message }, 'privacy budget spent: no new result is released');
        return undefined;
      }
      throw error;
    }
  };

  return {
    async publish() {
      const released = await release();
      if (!released) return;
      const contributions = tally.snapshot().contributions;
      for (const recipient of options.recipients) {
        const spent = released.privacy?.spent[recipient.name];
        const facts: ReleaseFacts = {
          resultDigest: digestOf(released.values),
          released: Object.keys(released.values).length,
          withheld: released.withheld,
          minCollaborators: policy.min_collaborators,
          minCount: policy.min_count,
          policySource: options.policySource,
          ...(released.privacy && spent
            ? {
                mechanism: released.privacy.mechanism,
                epsilon: released.privacy.epsilon,
                delta: released.privacy.delta,
                spentEpsilon: spent.epsilon,
                spentDelta: spent.delta,
              }
            : {}),
        };
        try {
          // No log entry, no result: the release is on record before the collaborator can read it.
          const logged = await recipient.appendRelease(facts);
          await recipient.deliver({
            minCount: policy.min_count,
            counts: released.values,
            withheldWords: released.withheld,
            contributions,
            minCollaborators: policy.min_collaborators,
            ...(released.privacy && spent
              ? {
                  privacy: {
                    mechanism: released.privacy.mechanism,
                    epsilon: released.privacy.epsilon,
                    delta: released.privacy.delta,
                    spent,
                  },
                }
              : {}),
            transparency: { entryIndex: logged.index, checkpoint: logged.checkpoint },
          });
          logger.info(
            {
              collaborator: recipient.name,
              contributions,
              released: facts.released,
              withheld: facts.withheld,
              entry: logged.index,
            },
            'sealed result published',
          );
        } catch (error) {
          logger.error({ collaborator: recipient.name, error }, 'publishing a result failed');
        }
      }
    },
  };
}
