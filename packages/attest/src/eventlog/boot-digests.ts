// Digest checks on the events of a bound TCG log. Each verified bank's digests are bound to its quote by the
// replay; an event's data is checked against the strongest of those banks, as Google's verifier reads one
// bank: the replay fixes every bank's digest, and the strongest hash fixes the data.
import { AttestError } from '../errors.ts';
import { digest, hashInfo } from '../tpm/constants.ts';
import type { TcgEvent } from './tcg.ts';

export class BankDigests {
  /** The banks the log was verified in (never SHA-1 alone: binding refuses that). */
  readonly banks: readonly number[];
  /** The strongest of them: the one event data is checked in. */
  readonly bank: number;
  readonly #known = new Map<string, Buffer>();
  /** Digests of an event's own data, which several rules check: computed once. */
  readonly #ofData = new WeakMap<Uint8Array, Buffer>();

  constructor(banks: readonly number[]) {
    this.banks = banks;
    this.bank = [...banks].sort((a, b) => hashInfo(b).size - hashInfo(a).size)[0]!;
  }

  /** H(data) in the strongest bank, memoised for the fixed strings the rules look for and for event data. */
  of(data: Uint8Array, key?: string): Buffer {
    const cached = key === undefined ? this.#ofData.get(data) : this.#known.get(key);
    if (cached !== undefined) return cached;
    const out = digest(this.bank, data);
    if (key === undefined) this.#ofData.set(data, out);
    else this.#known.set(key, out);
    return out;
  }

  /** Whether the event's digest is H(data): the event is that data. */
  verifies(event: TcgEvent, data: Uint8Array, key?: string): boolean {
    return this.of(data, key).equals(event.digests.get(this.bank)!);
  }

  /** Whether the event's digest is H(data) (for rules that find events by their digest). */
  resembles(event: TcgEvent, data: Uint8Array, key: string): boolean {
    return this.verifies(event, data, key);
  }
}

export function refuseBoot(message: string): never {
  throw new AttestError('ERR_ATTEST_BOOT_STATE', message);
}
