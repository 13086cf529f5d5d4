// The CEL environment Sealroom evaluates with: @bufbuild/cel plus the cel-go fixes docs/cel.md lists.
import {
  type CelEnv,
  CelScalar,
  type CelUint,
  celEnv,
  celFunc,
  celMap,
  celMethod,
  celUint,
  isCelUint,
  listType,
  objectType,
} from '@bufbuild/cel';
import { create } from '@bufbuild/protobuf';
import { type Timestamp, TimestampSchema } from '@bufbuild/protobuf/wkt';
import { appendLists } from './append-list.ts';
import { CelPolicyError } from './errors.ts';

const { INT, UINT, DOUBLE, STRING } = CelScalar;
const LIST = listType(CelScalar.DYN);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of google.protobuf.Timestamp. */
const TIMESTAMP_MIN_SECONDS = -62135596800n;
const TIMESTAMP_MAX_SECONDS = 253402300799n;

// @bufbuild/cel 0.6.1 answers `has(m.k)` and `'k' in m` with false when m.k is null (a loose `!=` in
// its native map). cel-go says present. And a lookup by an int key that is not there scans every
// key for a uint twin, so `m[i]` on a map of n string keys costs O(n), uncharged by the cost meter.
// Both patched once on the shared prototype; regression tests fail if an upgrade changes the class.
const nativeMapPrototype = Object.getPrototypeOf(celMap(new Map())) as {
  _map: Map<unknown, unknown>;
  get(key: unknown): unknown;
  has(key: unknown): boolean;
};
const nativeGet = nativeMapPrototype.get;
const uintKeyed = new WeakMap<Map<unknown, unknown>, boolean>();
/** Whether any key is a uint, computed once per map (maps are never changed after creation). */
function hasUintKeys(map: Map<unknown, unknown>): boolean {
  let known = uintKeyed.get(map);
  if (known === undefined) {
    known = false;
    for (const key of map.keys()) {
      if (isCelUint(key)) {
        known = true;
        break;
      }
    }
    uintKeyed.set(map, known);
  }
  return known;
}
nativeMapPrototype.get = function get(this: typeof nativeMapPrototype, key: unknown): unknown {
  const int = isCelUint(key) ? key.value : key;
  if (typeof int === 'bigint' || (typeof int === 'number' && Number.isInteger(int))) {
    // The scan only ever finds a uint key equal to the int; without uint keys, a miss is final.
    if (!this._map.has(BigInt(int)) && !hasUintKeys(this._map)) return undefined;
  }
  return nativeGet.call(this, key);
};
nativeMapPrototype.has = function has(this: typeof nativeMapPrototype, key: unknown): boolean {
  return this.get(key) !== undefined;
};

/** cel-go's conversion failures keep cel-go's words; the evaluator turns the error into an evaluation error. */
function conversionError(message: string): CelPolicyError {
  return new CelPolicyError('ERR_CEL_CONVERSION', message);
}
/** Go strconv.ParseInt(s, 10, 64): optional sign, decimal digits only, int64 range. */
export function parseStrictInt(text: string): bigint {
  if (!/^[+-]?\d+$/.test(text)) throw conversionError('invalid syntax for int conversion');
  const value = BigInt(text);
  if (value < INT64_MIN || value > INT64_MAX) throw conversionError('int conversion out of range');
  return value;
}

/** Go strconv.ParseUint(s, 10, 64): decimal digits only, no sign. */
export function parseStrictUint(text: string): CelUint {
  if (!/^\d+$/.test(text)) throw conversionError('invalid syntax for uint conversion');
  const value = BigInt(text);
  if (value > UINT64_MAX) throw conversionError('uint conversion out of range');
  return celUint(value);
}

/** Go strconv.ParseFloat(s, 64) for decimal input, inf/infinity/nan in any case (no hex floats). */
export function parseStrictDouble(text: string): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]?.toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text))
    throw conversionError('invalid syntax for double conversion');
  return Number(text);
}

/** cel-go: `timestamp(int)` counts seconds since the epoch, within the Timestamp range. */
export function timestampFromSeconds(seconds: bigint): Timestamp {
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS)
    throw conversionError('timestamp out of range');
  return create(TimestampSchema, { seconds, nanos: 0 });
}

/**
 * Google IAM's `extract`: the text between the template's prefix and suffix around `{name}`, or ''
 * when the prefix or the suffix is not found (cloud.google.com/iam/docs/conditions-attribute-reference#extract).
 */
export function extractTemplate(text: string, template: string): string {
  const match = /^([^{}]*)\{[^{}]+\}([^{}]*)$/.exec(template);
  if (!match) throw conversionError('extract template must hold exactly one {name}');
  const prefix = match[1] ?? '';
  const suffix = match[2] ?? '';
  const at = text.indexOf(prefix);
  if (at < 0) return '';
  const start = at + prefix.length;
  if (suffix === '') return text.slice(start);
  const end = text.indexOf(suffix, start);
  return end < 0 ? '' : text.slice(start, end);
}

/**
 * Go's strconv.FormatFloat(f, 'g', -1, 64), which cel-go's string(double) uses: the shortest
 * digits, in exponent form when the decimal exponent is below -4 or at least 6 ("1.23456789e+08").
 */
export function formatDoubleLikeGo(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

const FIXES = [
  celFunc('_+_', [LIST, LIST], LIST, appendLists),
  celFunc('int', [STRING], INT, parseStrictInt),
  celFunc('uint', [STRING], UINT, parseStrictUint),
  celFunc('double', [STRING], DOUBLE, parseStrictDouble),
  celFunc('timestamp', [INT], objectType(TimestampSchema), timestampFromSeconds),
  celFunc('string', [DOUBLE], STRING, formatDoubleLikeGo),
  celMethod('extract', STRING, [STRING], STRING, function extract(this: string, template: string) {
    return extractTemplate(this, template);
  }),
];

let shared: CelEnv | undefined;

/**
 * Sealroom's functions on @bufbuild/cel (variables are dynamic). Expressions are planned in the
 * metered wrapper of this environment (meter.ts), never in it directly.
 */
export function sealroomCelEnv(): CelEnv {
  shared ??= celEnv({ funcs: FIXES });
  return shared;
}
