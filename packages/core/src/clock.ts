// An injectable clock, so expiry, leases and rotation are testable without sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function createFakeClock(startMs = Date.UTC(2026, 0, 1)): FakeClock {
  let current = startMs;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

const RFC3339_CACHE_LIMIT = 4096;
/** Recent answers: a resource's times (create, update, expiry) are printed again with every read of it. */
const rfc3339 = new Map<number, string>();

/** RFC 3339 with millisecond precision, as Google's JSON APIs print timestamps. */
export function toRfc3339(ms: number): string {
  let text = rfc3339.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (rfc3339.size >= RFC3339_CACHE_LIMIT) rfc3339.clear();
    rfc3339.set(ms, text);
  }
  return text;
}

/** Parses a protobuf Duration in JSON form ("3600s", "1.5s"); returns milliseconds or undefined. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]);
  const fraction = match[2] ? Number(`0.${match[2]}`) : 0;
  return Math.round((seconds + fraction) * 1000);
}

export function toDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
