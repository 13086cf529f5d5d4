// Static cost estimate of a parsed CEL expression: the most its evaluation can cost on inputs of bounded size.
import type { Expr, Expr_Call, Expr_Comprehension } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { CEL_COSTS, estimateCallCost } from './cost-model.ts';
import { regexProgramSize } from './regex-size.ts';
import { capShape, joinShapes, listShape, mul, SCALAR, type Shape, stringShape, UNBOUNDED } from './shape.ts';

export interface CostEstimate {
  /** Upper bound on the cost of one evaluation (may be Infinity). */
  readonly cost: number;
  /** Upper bound on the size of the result. */
  readonly shape: Shape;
}

export interface EstimateOptions {
  /** Size bounds of the variables; any other identifier is unbounded. */
  readonly variables: Readonly<Record<string, Shape>>;
  /** Whether a constant `matches` pattern was compiled ahead of time. */
  readonly precompiled: (pattern: string) => boolean;
}

/** Node visits after which the estimate stops refining comprehensions (it stays an upper bound). */
const REFINE_BUDGET = 200_000;

interface Local {
  readonly shape: Shape;
  /** For the accumulator of map/filter: collects the shape of the items they append. */
  readonly appended?: { shape: Shape | undefined };
}

type Scope = ReadonlyMap<string, Local>;

/**
 * Walks the expression once, as cel-go's checker/cost.go does: each node costs what the runtime
 * meter charges for it, a call what cost-model.ts says for arguments of the estimated sizes, and
 * a comprehension its range once plus every step for every item. Where a range's items share
 * one size budget (all the items of a JSON list fit in the token), the steps are summed in
 * groups of items by the largest size each group can have (item k is at most 1/k of the total),
 * which stays an upper bound for any step cost that grows with its item's size.
 */
export function estimateCost(expr: Expr, options: EstimateOptions): CostEstimate {
  return new Estimator(options).visit(expr, new Map());
}

class Estimator {
  #visits = 0;
  readonly #options: EstimateOptions;

  constructor(options: EstimateOptions) {
    this.#options = options;
  }

  visit(expr: Expr, scope: Scope): CostEstimate {
    this.#visits++;
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'constExpr': {
        const constant = kind.value.constantKind;
        if (constant.case === 'stringValue') return { cost: 0, shape: stringShape(constant.value.length) };
        if (constant.case === 'bytesValue') return { cost: 0, shape: stringShape(constant.value.length) };
        return { cost: 0, shape: SCALAR };
      }
      case 'identExpr': {
        const local = scope.get(kind.value.name);
        if (local) return { cost: CEL_COSTS.identOrSelect, shape: local.shape };
        const shape = this.#options.variables[kind.value.name] ?? UNBOUNDED;
        return { cost: CEL_COSTS.identOrSelect + CEL_COSTS.fallible, shape };
      }
      case 'selectExpr': {
        const operand = kind.value.operand ? this.visit(kind.value.operand, scope) : { cost: 0, shape: UNBOUNDED };
        const shape = kind.value.testOnly ? SCALAR : (operand.shape.elem ?? SCALAR);
        return { cost: operand.cost + CEL_COSTS.identOrSelect + CEL_COSTS.fallible, shape };
      }
      case 'listExpr': {
        const parts = kind.value.elements.map((element) => this.visit(element, scope));
        return {
          cost: CEL_COSTS.listCreate + sum(parts.map((p) => p.cost)),
          shape: listShape(
            parts.length,
            joinAll(parts.map((p) => p.shape)),
            parts.length + sum(parts.map((p) => p.shape.deep)),
          ),
        };
      }
      case 'structExpr': {
        const parts: CostEstimate[] = [];
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') parts.push(this.visit(entry.keyKind.value, scope));
          if (entry.value) parts.push(this.visit(entry.value, scope));
        }
        const entries = kind.value.entries.length;
        return {
          cost: CEL_COSTS.mapCreate + sum(parts.map((p) => p.cost)),
          shape: {
            len: 0,
            items: entries,
            deep: Math.max(1, 2 * entries + sum(parts.map((p) => p.shape.deep))),
            elem: joinAll(parts.map((p) => p.shape)),
          },
        };
      }
      case 'callExpr':
        return this.call(kind.value, scope);
      case 'comprehensionExpr':
        return this.comprehension(kind.value, scope);
      default:
        return { cost: 0, shape: SCALAR };
    }
  }

  private call(call: Expr_Call, scope: Scope): CostEstimate {
    const target = call.target ? this.visit(call.target, scope) : undefined;
    const args = call.args.map((arg) => this.visit(arg, scope));
    const parts = target ? [target, ...args] : args;
    const cost = sum(parts.map((p) => p.cost));
    const shapes = parts.map((p) => p.shape);
    switch (call.function) {
      case '_&&_':
      case '_||_':
        return { cost: cost + CEL_COSTS.fallible, shape: SCALAR };
      case '@not_strictly_false':
      case '__not_strictly_false__':
        return { cost, shape: SCALAR };
      case '_?_:_':
        // The runtime meter charges the variables of both branches, so both count here.
        return { cost: cost + CEL_COSTS.fallible, shape: joinShapes(shapes[1], shapes[2]) ?? SCALAR };
      case '_[_]':
      case '_[?_]':
        return { cost: cost + CEL_COSTS.identOrSelect + CEL_COSTS.fallible, shape: shapes[0]?.elem ?? SCALAR };
      default:
        break;
    }
    const accumulator = call.function === '_+_' && !call.target ? this.accumulatorOf(call.args[0], scope) : undefined;
    if (accumulator) accumulator.shape = joinShapes(accumulator.shape, shapes[1]?.elem);
    const callCost = estimateCallCost(call.function, shapes, {
      appendsToAccumulator: accumulator !== undefined,
      pattern: call.function === 'matches' ? this.patternOf(call.target ? call.args[0] : call.args[1]) : undefined,
    });
    return { cost: cost + callCost, shape: resultShape(call.function, shapes) };
  }

  private accumulatorOf(expr: Expr | undefined, scope: Scope): { shape: Shape | undefined } | undefined {
    return expr?.exprKind.case === 'identExpr' ? scope.get(expr.exprKind.value.name)?.appended : undefined;
  }

  private patternOf(expr: Expr | undefined): { size: number; precompiled: boolean } | undefined {
    const constant = expr?.exprKind.case === 'constExpr' ? expr.exprKind.value.constantKind : undefined;
    if (constant?.case !== 'stringValue') return undefined;
    return { size: regexProgramSize(constant.value), precompiled: this.#options.precompiled(constant.value) };
  }

  private comprehension(c: Expr_Comprehension, scope: Scope): CostEstimate {
    const range = c.iterRange ? this.visit(c.iterRange, scope) : { cost: 0, shape: SCALAR };
    const init = c.accuInit ? this.visit(c.accuInit, scope) : { cost: 0, shape: SCALAR };
    const count = range.shape.items;
    const item = range.shape.elem ?? SCALAR;
    const buildsList = c.accuInit?.exprKind.case === 'listExpr' && c.accuInit.exprKind.value.elements.length === 0;
    const step = (itemShape: Shape): { cost: number; appended: Shape } => {
      const appended = { shape: undefined as Shape | undefined };
      const inner = new Map(scope);
      inner.set(c.accuVar, buildsList ? { shape: listShape(count, SCALAR), appended } : { shape: init.shape });
      inner.set(c.iterVar, { shape: itemShape });
      const cost =
        (c.loopCondition ? this.visit(c.loopCondition, inner).cost : 0) +
        (c.loopStep ? this.visit(c.loopStep, inner).cost : 0);
      return { cost, appended: appended.shape ?? SCALAR };
    };
    const plain = step(item);
    let loop = mul(count, plain.cost);
    let built = count + mul(count, plain.appended.deep);
    if (Number.isFinite(count) && range.shape.deep < mul(count, item.deep)) {
      const refined = this.refine(count, item, range.shape.deep, step);
      if (refined) {
        loop = Math.min(loop, refined.cost);
        built = Math.min(built, refined.built);
      }
    }
    const resultScope = new Map(scope);
    resultScope.set(c.accuVar, { shape: buildsList ? listShape(count, plain.appended, built) : init.shape });
    const result = c.result ? this.visit(c.result, resultScope) : { cost: 0, shape: SCALAR };
    const rangeCharge = 1 + mul(CEL_COSTS.rangeItem, count);
    const own = CEL_COSTS.fallible;
    return { cost: own + range.cost + init.cost + rangeCharge + loop + result.cost, shape: result.shape };
  }

  /**
   * Σ over items of step(item) when the items' sizes add up to at most `total`, for a step cost
   * that grows with the item's size (nothing else is assumed). The k-th largest item is at most
   * total/k, so items lo..2·lo-1 are each bounded by p = total/lo: summing by these groups is one
   * bound. Another: an item above p/2 and at most p costs at most step(p) ≤ 2·slope·size, where
   * slope = (step(p) - step(smallest))/p, so the items above the smallest group point cost at
   * most 2·max slope·total beyond step(smallest point) each. Both hold; the smaller is kept.
   */
  private refine(
    count: number,
    item: Shape,
    total: number,
    step: (itemShape: Shape) => { cost: number; appended: Shape },
  ): { cost: number; built: number } | undefined {
    const points: { group: number; size: number; cost: number; built: number }[] = [];
    for (let lo = 1; lo <= count; lo *= 2) {
      if (this.#visits > REFINE_BUDGET) return undefined;
      const size = Math.min(item.deep, total / lo);
      const bounded = step(capShape(item, size));
      points.push({
        group: Math.min(2 * lo - 1, count) - lo + 1,
        size,
        cost: bounded.cost,
        built: 1 + bounded.appended.deep,
      });
    }
    const smallest = points[points.length - 1];
    if (!smallest) return { cost: 0, built: count };
    const bound = (of: (point: (typeof points)[number]) => number): number => {
      const grouped = sum(points.map((point) => mul(point.group, of(point))));
      let slope = 0;
      for (const point of points) slope = Math.max(slope, (of(point) - of(smallest)) / point.size);
      return Math.min(grouped, mul(count, of(smallest)) + mul(2 * slope, total));
    };
    return { cost: bound((point) => point.cost), built: bound((point) => point.built) };
  }
}

function resultShape(fn: string, shapes: readonly Shape[]): Shape {
  const [first, second] = shapes;
  switch (fn) {
    case '_+_': {
      if (!first || !second) return SCALAR;
      if (first.elem === undefined && second.elem === undefined) {
        // Strings, bytes or scalars: the sum of lengths (0 for numbers).
        return first.len + second.len > 0 ? stringShape(first.len + second.len) : SCALAR;
      }
      return {
        len: first.len + second.len,
        items: first.items + second.items,
        deep: first.deep + second.deep,
        elem: joinShapes(first.elem, second.elem),
      };
    }
    case 'string':
      return stringShape(Math.max(32, first?.len ?? 0));
    case 'bytes':
      return stringShape(3 * (first?.len ?? 0));
    case 'extract':
      return stringShape(first?.len ?? 0);
    case 'dyn':
      return first ?? SCALAR;
    default:
      return SCALAR;
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function joinAll(shapes: readonly Shape[]): Shape {
  let joined: Shape | undefined;
  for (const shape of shapes) joined = joinShapes(joined, shape);
  return joined ?? SCALAR;
}
