// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-8, as KMS and Secret Manager checksums use.
import { CoreError } from './errors.ts';

const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = buildTables();

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1] as Uint32Array;
    const next = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      next[n] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0;
    }
    tables.push(next);
  }
  return tables;
}

/** CRC32C of `data`, continuing from `previous` (0 for a fresh checksum). Returns an unsigned 32-bit value. */
export function crc32c(data: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let crc = ~previous >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  while (i < end8) {
    const a =
      (crc ^
        (data[i] as number) ^
        ((data[i + 1] as number) << 8) ^
        ((data[i + 2] as number) << 16) ^
        ((data[i + 3] as number) << 24)) >>>
      0;
    crc =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number);
    i += 8;
  }
  while (i < data.length) {
    crc = (crc >>> 8) ^ (t0[(crc ^ (data[i] as number)) & 0xff] as number);
    i++;
  }
  return ~crc >>> 0;
}

/**
 * Parses a checksum as Google's JSON carries it (an int64 as a decimal string, or a number) and
 * checks it is a 32-bit unsigned value. Returns undefined when the value is absent.
 */
export function parseCrc32c(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    throw new CoreError(
      'ERR_INVALID_ARGUMENT',
      `Invalid value at '${field}': expected a CRC32C checksum as an unsigned 32-bit integer.`,
    );
  }
  return Number(text);
}
