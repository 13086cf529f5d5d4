// Word counts across collaborators with duplicate suppression by contribution id, as a snapshot-able value.
import {
  type PrivacyLedger,
  type PrivacyLedgerSnapshot,
  type ValueTally,
  createPrivacyLedger,
} from '@sealroom/workload';

export interface TallySnapshot {
  /** 2 adds `contributors` and `privacy`; a version 1 snapshot restores with no known contributors. */
  readonly version: 1 | 2;
  readonly counts: Readonly<Record<string, number>>;
  /** Contributions counted, per collaborator. */
  readonly contributions: Readonly<Record<string, number>>;
  /** `collaborator/contribution id` of everything counted, so redeliveries are not counted twice. */
  readonly seen: readonly string[];
  /** The distinct collaborators that contributed each word (what `min_collaborators` is checked against). */
  readonly contributors?: Readonly<Record<string, readonly string[]>>;
  /** Differential-privacy budget spent per collaborator, sealed with the counts. */
  readonly privacy?: PrivacyLedgerSnapshot;
}

export interface WordcountResult {
  readonly minCount: number;
  /** Words released under the output policy, with their counts (noisy under differential privacy). */
  readonly counts: Readonly<Record<string, number>>;
  /** How many distinct words were withheld (their values are not revealed). */
  readonly withheldWords: number;
  readonly contributions: Readonly<Record<string, number>>;
  /** The least number of distinct collaborators a released word had. */
  readonly minCollaborators?: number;
  /** Under differential privacy: the mechanism, the (ε, δ) of this release and what this collaborator has spent. */
  readonly privacy?: {
    readonly mechanism: string;
    readonly epsilon: number;
    readonly delta: number;
    readonly spent: { readonly epsilon: number; readonly delta: number };
  };
  /**
   * Where this release was logged: the index of its entry in this collaborator's transparency log and the
   * signed checkpoint it was produced at (every key release before it is in that tree).
   */
  readonly transparency?: { readonly entryIndex: number; readonly checkpoint: string };
}

export interface Tally {
  /** Counts the word unless this contribution was counted before; says whether it counted. */
  add(collaborator: string, contributionId: string, word: string): boolean;
  has(collaborator: string, contributionId: string): boolean;
  snapshot(): TallySnapshot;
  /** Every word with its count and distinct contributors, for `releaseResult`. */
  values(): Record<string, ValueTally>;
  /** The differential-privacy ledger, restored from and saved with the snapshot. */
  readonly ledger: PrivacyLedger;
  /** Seeds' behaviour without an output policy: every word counted at least minCount times. */
  result(minCount: number): WordcountResult;
}

const seenKey = (collaborator: string, id: string) => `${collaborator}/${id}`;

export function createTally(from?: TallySnapshot): Tally {
  const counts = new Map<string, number>(Object.entries(from?.counts ?? {}));
  const contributions = new Map<string, number>(Object.entries(from?.contributions ?? {}));
  const contributors = new Map<string, Set<string>>(
    Object.entries(from?.contributors ?? {}).map(([word, list]) => [word, new Set(list)]),
  );
  const seen = new Set(from?.seen ?? []);
  const ledger = createPrivacyLedger(from?.privacy);
  return {
    ledger,
    add(collaborator, contributionId, word) {
      const key = seenKey(collaborator, contributionId);
      if (seen.has(key)) return false;
      seen.add(key);
      counts.set(word, (counts.get(word) ?? 0) + 1);
      contributions.set(collaborator, (contributions.get(collaborator) ?? 0) + 1);
      let who = contributors.get(word);
      if (!who) contributors.set(word, (who = new Set()));
      who.add(collaborator);
      return true;
    },
    has: (collaborator, contributionId) => seen.has(seenKey(collaborator, contributionId)),
    snapshot: () => ({
      version: 2,
      counts: Object.fromEntries(counts),
      contributions: Object.fromEntries(contributions),
      seen: [...seen],
      contributors: Object.fromEntries([...contributors].map(([word, who]) => [word, [...who].sort()])),
      privacy: ledger.snapshot(),
    }),
    values: () =>
      Object.fromEntries(
        [...counts].map(([word, count]) => [word, { count, collaborators: [...(contributors.get(word) ?? [])] }]),
      ),
    result(minCount) {
      const shown: Record<string, number> = {};
      let withheldWords = 0;
      for (const [word, count] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (count >= minCount) shown[word] = count;
        else withheldWords += 1;
      }
      return { minCount, counts: shown, withheldWords, contributions: Object.fromEntries(contributions) };
    },
  };
}
