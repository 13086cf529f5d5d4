// Digest checks on the events of a bound TCG log, over the banks it was verified in: an event "is" some
// data only when its digest in every verified bank is the hash of that data.
import { AttestError } from '../errors.ts';
import { digest } from '../tpm/constants.ts';
import type { TcgEvent } from './tcg.ts';

export class BankDigests {
  readonly banks: readonly number[];
  readonly #known = new Map<string, Map<number, Buffer>>();

  constructor(banks: readonly number[]) {
    this.banks = banks;
  }

  /** Digests of an event's own data, which several rules check: computed once per bank. */
  readonly #ofData = new WeakMap<Uint8Array, Map<number, Buffer>>();

  /** H(data) in each bank, memoised for the fixed strings the rules look for and for each event's data. */
  of(data: Uint8Array, key?: string): Map<number, Buffer> {
    const cached = key === undefined ? this.#ofData.get(data) : this.#known.get(key);
    if (cached !== undefined) return cached;
    const out = new Map(this.banks.map((alg) => [alg, digest(alg, data)]));
    if (key === undefined) this.#ofData.set(data, out);
    else this.#known.set(key, out);
    return out;
  }

  /** Whether the event's digest equals H(data) in every verified bank. */
  verifies(event: TcgEvent, data: Uint8Array, key?: string): boolean {
    const want = this.of(data, key);
    return this.banks.every((alg) => want.get(alg)!.equals(event.digests.get(alg)!));
  }

  /** Whether the event's digest equals H(data) in any verified bank: it claims to be that data. */
  resembles(event: TcgEvent, data: Uint8Array, key: string): boolean {
    const want = this.of(data, key);
    return this.banks.some((alg) => want.get(alg)!.equals(event.digests.get(alg)!));
  }
}

export function refuseBoot(message: string): never {
  throw new AttestError('ERR_ATTEST_BOOT_STATE', message);
}
