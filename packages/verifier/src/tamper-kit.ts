// Test-only machinery of the tamper suite: flip every byte of a binary part (or change every field), run the
// verifier's own code on the result, and check that the refusal carries the code the part's layout says must
// refuse it. Bytes a specification leaves unmeasured must instead change nothing the verifier reports.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';

/** The expectation for bytes no signature or digest covers (the TCG PFP leaves a few so). */
export const UNMEASURED = 'UNMEASURED';

export type Expect = string | ((mutated: Buffer, offset: number) => string);

/** A byte range of a part and the code a flip inside it must be refused with. */
export interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly expect: Expect;
}

export type Outcome = { readonly code: string } | { readonly accepted: unknown };

/**
 * The precise code of a refusal: an attest error's own code when the verifier re-raised it under its code
 * (both are checked to be typed). Anything untyped is a defect of the verifier, not a refusal.
 */
export function codeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_')) throw error;
  const cause = e.cause?.code;
  return typeof cause === 'string' && cause.startsWith('ERR_ATTEST_') ? cause : e.code;
}

export function attempt(run: () => unknown): Outcome {
  try {
    return { accepted: run() };
  } catch (error) {
    return { code: codeOf(error) };
  }
}

export async function attemptAsync(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { accepted: await run() };
  } catch (error) {
    return { code: codeOf(error) };
  }
}

/** Counts of one suite: cases, refusals by code, unmeasured bytes shown to change nothing, failures. */
export class Tally {
  cases = 0;
  unmeasured = 0;
  readonly codes = new Map<string, number>();
  readonly failures: string[] = [];

  record(where: string, expected: string, outcome: Outcome, baseline?: unknown): void {
    this.cases++;
    if (expected === UNMEASURED) {
      if ('code' in outcome) this.failures.push(`${where}: unmeasured byte refused with ${outcome.code}`);
      else if (!isDeepStrictEqual(outcome.accepted, baseline)) this.failures.push(`${where}: changed the result`);
      else this.unmeasured++;
      return;
    }
    if (!('code' in outcome)) {
      this.failures.push(`${where}: accepted, expected ${expected}`);
      return;
    }
    // An expectation may name alternatives (`A|B`) where a part's bytes reach one of a few checks first.
    if (!expected.split('|').includes(outcome.code))
      this.failures.push(`${where}: ${outcome.code}, expected ${expected}`);
    this.codes.set(outcome.code, (this.codes.get(outcome.code) ?? 0) + 1);
  }

  get refused(): number {
    return [...this.codes.values()].reduce((a, b) => a + b, 0);
  }

  summary(): string {
    const codes = [...this.codes].map(([code, n]) => `${code} ${n}`).join(', ');
    return `${this.cases} cases: ${this.refused} refused (${codes}); ${this.unmeasured} unmeasured bytes changed nothing`;
  }

  assertClean(): void {
    assert.deepEqual(this.failures.slice(0, 25), [], `${this.failures.length} failures`);
  }
}

/** The regions must tile the part exactly: every byte has one expectation. */
function checkTiling(part: string, length: number, regions: readonly Region[]): void {
  let at = 0;
  for (const region of regions) {
    assert.equal(region.start, at, `${part}: region ${region.name} starts at ${region.start}, expected ${at}`);
    assert.ok(region.end > region.start, `${part}: region ${region.name} is empty`);
    at = region.end;
  }
  assert.equal(at, length, `${part}: regions end at ${at}, the part has ${length} bytes`);
}

function expectationAt(region: Region, mutated: Buffer, offset: number): string {
  return typeof region.expect === 'string' ? region.expect : region.expect(mutated, offset);
}

/**
 * Complements every byte of `sample` in turn (XOR 0xFF) and records what `run` makes of it; `range` limits
 * the run to the offsets [from, to) so that a large part can be shared between test files run in parallel.
 */
export function flipEveryByte(
  tally: Tally,
  part: string,
  sample: Uint8Array,
  regions: readonly Region[],
  run: (mutated: Buffer) => Outcome,
  baseline?: unknown,
  range: readonly [number, number] = [0, sample.length],
): void {
  checkTiling(part, sample.length, regions);
  for (const region of regions) {
    for (let offset = Math.max(region.start, range[0]); offset < Math.min(region.end, range[1]); offset++) {
      const mutated = Buffer.from(sample);
      mutated[offset]! ^= 0xff;
      tally.record(`${part} ${region.name} @${offset}`, expectationAt(region, mutated, offset), run(mutated), baseline);
    }
  }
}

export async function flipEveryByteAsync(
  tally: Tally,
  part: string,
  sample: Uint8Array,
  regions: readonly Region[],
  run: (mutated: Buffer) => Promise<Outcome>,
): Promise<void> {
  checkTiling(part, sample.length, regions);
  for (const region of regions) {
    for (let offset = region.start; offset < region.end; offset++) {
      const mutated = Buffer.from(sample);
      mutated[offset]! ^= 0xff;
      tally.record(`${part} ${region.name} @${offset}`, expectationAt(region, mutated, offset), await run(mutated));
    }
  }
}

/** Builds regions front to back: `field(name, length, expect)` appends one. */
export class Layout {
  readonly regions: Region[] = [];
  offset = 0;

  field(name: string, length: number, expect: Expect): this {
    if (length > 0) this.regions.push({ name, start: this.offset, end: this.offset + length, expect });
    this.offset += length;
    return this;
  }
}
