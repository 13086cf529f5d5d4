// Word counts across collaborators with duplicate suppression by contribution id, as a snapshot-able value.
export interface TallySnapshot {
  readonly version: 1;
  readonly counts: Readonly<Record<string, number>>;
  /** Contributions counted, per collaborator. */
  readonly contributions: Readonly<Record<string, number>>;
  /** `collaborator/contribution id` of everything counted, so redeliveries are not counted twice. */
  readonly seen: readonly string[];
}

export interface WordcountResult {
  readonly minCount: number;
  /** Words counted at least minCount times, with their counts. */
  readonly counts: Readonly<Record<string, number>>;
  /** How many distinct words fell below minCount (their values are not revealed). */
  readonly withheldWords: number;
  readonly contributions: Readonly<Record<string, number>>;
}

export interface Tally {
  /** Counts the word unless this contribution was counted before; says whether it counted. */
  add(collaborator: string, contributionId: string, word: string): boolean;
  has(collaborator: string, contributionId: string): boolean;
  snapshot(): TallySnapshot;
  result(minCount: number): WordcountResult;
}

const seenKey = (collaborator: string, id: string) => `${collaborator}/${id}`;

export function createTally(from?: TallySnapshot): Tally {
  const counts = new Map<string, number>(Object.entries(from?.counts ?? {}));
  const contributions = new Map<string, number>(Object.entries(from?.contributions ?? {}));
  const seen = new Set(from?.seen ?? []);
  return {
    add(collaborator, contributionId, word) {
      const key = seenKey(collaborator, contributionId);
      if (seen.has(key)) return false;
      seen.add(key);
      counts.set(word, (counts.get(word) ?? 0) + 1);
      contributions.set(collaborator, (contributions.get(collaborator) ?? 0) + 1);
      return true;
    },
    has: (collaborator, contributionId) => seen.has(seenKey(collaborator, contributionId)),
    snapshot: () => ({
      version: 1,
      counts: Object.fromEntries(counts),
      contributions: Object.fromEntries(contributions),
      seen: [...seen],
    }),
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
