// The CEL cost model: what each step of an evaluation costs, measured at run time and bounded statically.
import { type CelValue, isCelList, isCelMap } from '@bufbuild/cel';
import { appendCopies } from './append-list.ts';
import { MAX_INSTRUCTIONS_PER_CHARACTER, regexProgramSize } from './regex-size.ts';
import { mul, type Shape, traversalBound } from './shape.ts';

/**
 * Unit costs, in the spirit of cel-go's (checker/cost.go, interpreter/runtimecost.go): reading a
 * variable or field costs 1, a constant 0, creating a list 10 and a map 30, and work over a
 * string or list 0.1 per character or item. Measured on @bufbuild/cel 0.6.1 (bench/cel-cost.ts),
 * two things cost more than in cel-go, and are charged so that a unit stays near the same CPU
 * time whatever the expression does: dispatching a call (5), and creating an evaluation error
 * (an Error object, about as costly as eight variable reads), which every node that can fail on its
 * own is charged for: a field or index access, a variable that is not a comprehension's, `&&`,
 * `||`, `?:`, a comprehension, and a call.
 */
export const CEL_COSTS = {
  identOrSelect: 1,
  /** What a node that can fail by itself adds, for the error it may create. */
  fallible: 8,
  call: 5,
  listCreate: 10,
  mapCreate: 30,
  /** Per character of a string or bytes value, or per item or entry of a list or map. */
  traversal: 0.1,
  /** Per item of a comprehension's range, which @bufbuild/cel copies before the first step. */
  rangeItem: 1,
  /** Parsing a string into a number, timestamp or duration (conversions), on top of the call. */
  parse: 30,
  /** A timestamp getter with a time zone argument builds an Intl formatter (about 200 µs). */
  timeZone: 3000,
  /** Compiling a regular expression, per instruction of its program (regex-size.ts). */
  regexCompile: 10,
  /** Matching, per character of the input, plus 0.1 per character and instruction of the program. */
  regexMatchChar: 3,
} as const;

const T = CEL_COSTS.traversal;
const TIME_GETTERS = new Set([
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getFullYear',
  'getHours',
  'getMilliseconds',
  'getMinutes',
  'getMonth',
  'getSeconds',
]);
const COMPARISONS = new Set(['_<_', '_<=_', '_>_', '_>=_']);
const CONVERSIONS = new Set(['int', 'uint', 'double', 'bool', 'bytes', 'string', 'timestamp', 'duration']);
const PARSERS = new Set(['int', 'uint', 'double', 'bool', 'timestamp', 'duration']);

/** Regular-expression cost: compiling (unless precompiled) and matching `inputLength` characters. */
export function regexCost(inputLength: number, programSize: number, precompiled: boolean): number {
  const compile = precompiled ? 0 : mul(CEL_COSTS.regexCompile, programSize);
  return CEL_COSTS.call + compile + mul(inputLength + 1, CEL_COSTS.regexMatchChar + mul(T, programSize));
}

/** The cost of the call `name(args)` or `target.name(args)` on actual values. */
export function callCost(
  name: string,
  target: CelValue | undefined,
  args: readonly CelValue[],
  precompiled: ReadonlyMap<string, unknown>,
): number {
  const all = target === undefined ? args : [target, ...args];
  const [first, second] = all;
  switch (name) {
    case '_+_':
      if (isCelList(first) && isCelList(second)) return CEL_COSTS.call + T * appendCopies(first, second);
      return CEL_COSTS.call + T * (lengthOf(first) + lengthOf(second));
    case '_==_':
    case '_!=_': {
      const left = traversalOf(first, Number.POSITIVE_INFINITY);
      return CEL_COSTS.call + traversalOf(second, left);
    }
    case '@in':
      if (isCelList(second)) return CEL_COSTS.call + traversalOf(second, Number.POSITIVE_INFINITY);
      return CEL_COSTS.call + T * lengthOf(first);
    case 'contains':
      return CEL_COSTS.call + T * lengthOf(first) * (1 + T * lengthOf(second));
    case 'startsWith':
    case 'endsWith':
      return CEL_COSTS.call + T * lengthOf(second);
    case 'matches': {
      const pattern = typeof second === 'string' ? second : '';
      return regexCost(lengthOf(first), regexProgramSize(pattern), precompiled.has(pattern));
    }
    case 'extract':
      return CEL_COSTS.call + T * (lengthOf(first) + lengthOf(second));
    case 'size':
      return CEL_COSTS.call + T * lengthOf(first);
    default:
      if (COMPARISONS.has(name)) return CEL_COSTS.call + T * Math.min(lengthOf(first), lengthOf(second));
      if (PARSERS.has(name) && typeof first === 'string') return CEL_COSTS.call + CEL_COSTS.parse + T * first.length;
      if (CONVERSIONS.has(name)) return CEL_COSTS.call + T * lengthOf(first);
      if (TIME_GETTERS.has(name) && args.length > 0) return CEL_COSTS.call + CEL_COSTS.timeZone;
      return CEL_COSTS.call;
  }
}

/** The worst-case cost of a call on values of the given shapes: callCost, plus an error it may return. */
export function estimateCallCost(
  name: string,
  shapes: readonly Shape[],
  options: {
    readonly appendsToAccumulator: boolean;
    /** The program size of a constant pattern, and whether it was compiled ahead of time. */
    readonly pattern: { readonly size: number; readonly precompiled: boolean } | undefined;
  },
): number {
  return CEL_COSTS.fallible + estimateSuccessfulCall(name, shapes, options);
}

function estimateSuccessfulCall(
  name: string,
  shapes: readonly Shape[],
  options: {
    readonly appendsToAccumulator: boolean;
    /** The program size of a constant pattern, and whether it was compiled ahead of time. */
    readonly pattern: { readonly size: number; readonly precompiled: boolean } | undefined;
  },
): number {
  const [first, second] = shapes;
  const len = (shape: Shape | undefined) => shape?.len ?? 0;
  const items = (shape: Shape | undefined) => shape?.items ?? 0;
  const walk = (shape: Shape | undefined) => (shape ? traversalBound(shape) : 1);
  switch (name) {
    case '_+_':
      if (options.appendsToAccumulator) return CEL_COSTS.call + T * items(second);
      return CEL_COSTS.call + T * (Math.max(len(first), items(first)) + Math.max(len(second), items(second)));
    case '_==_':
    case '_!=_':
      return CEL_COSTS.call + Math.min(walk(first), walk(second));
    case '@in':
      return CEL_COSTS.call + Math.max(walk(second), T * len(first));
    case 'contains':
      return CEL_COSTS.call + mul(T * len(first), 1 + T * len(second));
    case 'startsWith':
    case 'endsWith':
      return CEL_COSTS.call + T * len(second);
    case 'matches': {
      // A pattern that is not a constant may compile to the most RE2 allows for its length.
      const program = options.pattern?.size ?? mul(MAX_INSTRUCTIONS_PER_CHARACTER, len(second) + 1);
      return regexCost(len(first), program, options.pattern?.precompiled ?? false);
    }
    case 'extract':
      return CEL_COSTS.call + T * (len(first) + len(second));
    case 'size':
      return CEL_COSTS.call + T * len(first);
    default:
      if (COMPARISONS.has(name)) return CEL_COSTS.call + T * Math.min(len(first), len(second));
      if (PARSERS.has(name)) return CEL_COSTS.call + CEL_COSTS.parse + T * len(first);
      if (CONVERSIONS.has(name)) return CEL_COSTS.call + T * len(first);
      // A method's target is the first shape: a getter with a zone has two.
      if (TIME_GETTERS.has(name) && shapes.length > 1) return CEL_COSTS.call + CEL_COSTS.timeZone;
      return CEL_COSTS.call;
  }
}

/** Length of a string (UTF-16 units) or bytes value; 0 for anything else. */
function lengthOf(value: CelValue | undefined): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.length;
  return 0;
}

const traversals = new WeakMap<object, number>();

/**
 * What walking a value costs, as equality and `in` do: 1 per value (the value itself, every list
 * item, map key and map value) and 0.1 per character of a string or byte of bytes; counted only
 * up to `cap`, since equality stops at the smaller side. shape.ts's traversalBound bounds it,
 * which the estimate relies on. Complete counts are cached (values never change).
 */
export function traversalOf(value: CelValue | undefined, cap: number): number {
  if (typeof value === 'string' || value instanceof Uint8Array) return 1 + T * value.length;
  if (!isCelList(value) && !isCelMap(value)) return 1;
  const known = traversals.get(value);
  if (known !== undefined) return known;
  let total = 1;
  const add = (part: unknown): boolean => {
    total += traversalOf(part as CelValue, cap - total);
    return total <= cap;
  };
  if (isCelList(value)) {
    for (const item of value) if (!add(item)) return total;
  } else {
    for (const [key, item] of value) if (!add(key) || !add(item)) return total;
  }
  traversals.set(value, total);
  return total;
}
