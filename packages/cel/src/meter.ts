// The runtime cost meter: charges every call, comprehension range and step, and aborts past the limit.
import { type CelEnv, type CelResult, type CelValue, isCelError, isCelList, isCelMap } from '@bufbuild/cel';
import { CEL_COSTS, callCost } from './cost-model.ts';
import { CelPolicyError } from './errors.ts';
import { sealroomCelEnv } from './env.ts';

/** A compiled regular expression (RE2JS's). */
export interface Matcher {
  test(text: string): boolean;
}

/**
 * Counts cost units against a limit. A child meter also charges its parent, so one evaluation
 * can be bounded on its own and as part of a larger decision. Once exceeded, every further
 * charge throws again, so nothing can continue past the limit.
 */
export class CostMeter {
  readonly limit: number;
  readonly #parent: CostMeter | undefined;
  #spent = 0;
  #exceeded = false;

  constructor(limit: number, parent?: CostMeter) {
    this.limit = limit;
    this.#parent = parent;
  }

  get spent(): number {
    return this.#spent;
  }

  /** Whether this meter or one above it ran out. */
  get exceeded(): boolean {
    return this.#exceeded || (this.#parent?.exceeded ?? false);
  }

  /** The limit that ran out: this meter's, or the one above it that stopped it. */
  get exceededLimit(): number | undefined {
    return this.#exceeded ? this.limit : this.#parent?.exceededLimit;
  }

  charge(units: number): void {
    this.#spent += units;
    if (this.#spent > this.limit) this.#exceeded = true;
    this.#parent?.charge(units);
    // Thrown through @bufbuild/cel's evaluator, which catches it at the top: the evaluation stops there.
    if (this.#exceeded) throw new CelPolicyError('ERR_CEL_COST_LIMIT', 'cost limit exceeded');
  }
}

export interface MeteredRun {
  readonly meter: CostMeter;
  /** Constant `matches` patterns compiled when the expression was. */
  readonly regexes: ReadonlyMap<string, Matcher>;
}

let active: MeteredRun | undefined;

/**
 * Runs `evaluate` with every charge going to `run.meter`. @bufbuild/cel makes every evaluation
 * error an Error; capturing its stack would cost more than the node that failed is charged, and
 * nobody reads it, so none is captured while an evaluation runs.
 */
export function withMeter<T>(run: MeteredRun, evaluate: () => T): T {
  const previous = active;
  const stackTraceLimit = Error.stackTraceLimit;
  active = run;
  Error.stackTraceLimit = 0;
  try {
    return evaluate();
  } finally {
    active = previous;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function currentRun(): MeteredRun {
  // An evaluation outside withMeter would run unbounded: refuse it (it becomes an error, so deny).
  if (!active) throw new CelPolicyError('ERR_CEL_UNMETERED', 'CEL evaluation without a cost meter');
  return active;
}

/** Internal functions the instrumented tree calls; `@` makes them impossible to write in CEL source. */
export const STEP_FUNCTION = '@sealroom_step';
export const RANGE_FUNCTION = '@sealroom_range';

type FuncGroup = NonNullable<ReturnType<CelEnv['funcs']['find']>>;

function group(name: string, call: FuncGroup['call']): FuncGroup {
  return { name, call, *[Symbol.iterator]() {} };
}

/** `@sealroom_step(condition, weight)`: charges one comprehension step, passes the condition through. */
const stepGroup = group(STEP_FUNCTION, (_id, _target, args) => {
  currentRun().meter.charge(Number(args[1]));
  return args[0] as CelValue;
});

/** `@sealroom_range(range)`: charges for copying the range before the first step. */
const rangeGroup = group(RANGE_FUNCTION, (_id, _target, args) => {
  const range = args[0] as CelValue;
  const items = isCelList(range) || isCelMap(range) ? range.size : 0;
  currentRun().meter.charge(1 + CEL_COSTS.rangeItem * items);
  return range;
});

function meteredGroup(base: FuncGroup): FuncGroup {
  const matches = base.name === 'matches';
  return {
    name: base.name,
    [Symbol.iterator]: () => base[Symbol.iterator](),
    call(id, target, args): CelResult | undefined {
      const run = currentRun();
      run.meter.charge(callCost(base.name, target, args, run.regexes));
      if (matches) {
        // A pattern compiled with the expression skips @bufbuild/cel's compile on every call.
        const pattern = target === undefined ? args[1] : args[0];
        const subject = target === undefined ? args[0] : target;
        const compiled = typeof pattern === 'string' ? run.regexes.get(pattern) : undefined;
        if (compiled && typeof subject === 'string') return compiled.test(subject);
      }
      const result = base.call(id, target, args);
      // No overload (the evaluator then creates the error) or an error: charge for it.
      if (result === undefined || isCelError(result)) run.meter.charge(CEL_COSTS.fallible);
      return result;
    },
  };
}

let shared: CelEnv | undefined;

/**
 * Sealroom's environment with every function charged to the active meter. @bufbuild/cel plans
 * with `env.funcs`, `env.registry` and `env.namespace` only (plan.js); the planner is cached per
 * env object, so this one object is built once.
 */
export function meteredCelEnv(): CelEnv {
  if (shared) return shared;
  const base = sealroomCelEnv();
  const groups = new Map<string, FuncGroup | undefined>([
    [STEP_FUNCTION, stepGroup],
    [RANGE_FUNCTION, rangeGroup],
  ]);
  const funcs = {
    [Symbol.iterator]: () => base.funcs[Symbol.iterator](),
    find(name: string): FuncGroup | undefined {
      if (!groups.has(name)) {
        const found = base.funcs.find(name);
        groups.set(name, found ? meteredGroup(found) : undefined);
      }
      return groups.get(name);
    },
  } as unknown as CelEnv['funcs'];
  shared = {
    namespace: base.namespace,
    registry: base.registry,
    funcs,
    variables: base.variables,
  } as unknown as CelEnv;
  return shared;
}
