// Rewrites a parsed CEL tree so the runtime meter sees every comprehension range and step.
import type { Expr, Expr_Comprehension } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { CEL_COSTS } from './cost-model.ts';
import { RANGE_FUNCTION, STEP_FUNCTION } from './meter.ts';

/**
 * What a node costs by itself, before any call it makes (calls charge themselves when they run):
 * reading a variable or field 1, building a list 10 or a map 30, plus the error allowance for a
 * node that can fail by itself (cost-model.ts); `bound` holds the comprehension variables in
 * scope, which always resolve.
 */
function ownCost(expr: Expr, bound: ReadonlySet<string>): number {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr':
      return CEL_COSTS.identOrSelect + (bound.has(kind.value.name) ? 0 : CEL_COSTS.fallible);
    case 'selectExpr':
      return CEL_COSTS.identOrSelect + CEL_COSTS.fallible;
    case 'listExpr':
      return CEL_COSTS.listCreate;
    case 'structExpr':
      return CEL_COSTS.mapCreate;
    case 'comprehensionExpr':
      return CEL_COSTS.fallible;
    case 'callExpr':
      switch (kind.value.function) {
        case '_[_]':
        case '_[?_]':
          return CEL_COSTS.identOrSelect + CEL_COSTS.fallible;
        case '_&&_':
        case '_||_':
        case '_?_:_':
          return CEL_COSTS.fallible;
        default:
          return 0;
      }
    default:
      return 0;
  }
}

/** The children evaluated with the node, each with the comprehension variables in scope there. */
function children(expr: Expr, bound: ReadonlySet<string>): [Expr, ReadonlySet<string>][] {
  const kind = expr.exprKind;
  const here = (parts: (Expr | undefined)[]): [Expr, ReadonlySet<string>][] =>
    parts.filter((e): e is Expr => e !== undefined).map((e) => [e, bound]);
  switch (kind.case) {
    case 'selectExpr':
      return here([kind.value.operand]);
    case 'callExpr':
      return here([kind.value.target, ...kind.value.args]);
    case 'listExpr':
      return here(kind.value.elements);
    case 'structExpr':
      return here(
        kind.value.entries.flatMap((entry) => [
          entry.keyKind.case === 'mapKey' ? entry.keyKind.value : undefined,
          entry.value,
        ]),
      );
    case 'comprehensionExpr': {
      // The condition and step run once per item: the comprehension's meter step pays for them.
      const c = kind.value;
      const withResult = new Set(bound).add(c.accuVar);
      return [
        ...here([c.iterRange, c.accuInit]),
        ...(c.result ? [[c.result, withResult] as [Expr, ReadonlySet<string>]] : []),
      ];
    }
    default:
      return [];
  }
}

/**
 * The cost a single evaluation of `expr` charges up front: every node's own cost, except inside
 * comprehension steps. It counts nodes a short-circuit may skip, as the estimate does.
 */
export function fixedCost(expr: Expr, bound: ReadonlySet<string> = new Set()): number {
  let total = ownCost(expr, bound);
  for (const [child, scope] of children(expr, bound)) total += fixedCost(child, scope);
  return total;
}

/**
 * Wraps each comprehension's range in `@sealroom_range(range)` and its loop condition (evaluated
 * once per item, before the step) in `@sealroom_step(condition, weight)`, where weight is the own
 * cost of the condition and step. Mutates `root` in place; new nodes get ids above every existing
 * one, so source positions keep pointing at the right places.
 */
export function instrumentComprehensions(root: Expr): void {
  let nextId = maxId(root) + 1n;
  const call = (fn: string, args: Expr[]): Expr =>
    ({
      $typeName: 'cel.expr.Expr',
      id: nextId++,
      exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args } },
    }) as Expr;
  const weight = (value: number): Expr =>
    ({
      $typeName: 'cel.expr.Expr',
      id: nextId++,
      exprKind: {
        case: 'constExpr',
        value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: BigInt(value) } },
      },
    }) as Expr;
  const visit = (expr: Expr, bound: ReadonlySet<string>): void => {
    const kind = expr.exprKind;
    if (kind.case === 'comprehensionExpr') {
      const c: Expr_Comprehension = kind.value;
      const inLoop = new Set(bound).add(c.iterVar).add(c.accuVar);
      if (c.iterRange) visit(c.iterRange, bound);
      if (c.accuInit) visit(c.accuInit, bound);
      if (c.loopCondition) visit(c.loopCondition, inLoop);
      if (c.loopStep) visit(c.loopStep, inLoop);
      if (c.result) visit(c.result, new Set(bound).add(c.accuVar));
      const stepCost =
        (c.loopCondition ? fixedCost(c.loopCondition, inLoop) : 0) + (c.loopStep ? fixedCost(c.loopStep, inLoop) : 0);
      if (c.iterRange) c.iterRange = call(RANGE_FUNCTION, [c.iterRange]);
      if (c.loopCondition) c.loopCondition = call(STEP_FUNCTION, [c.loopCondition, weight(Math.max(1, stepCost))]);
      return;
    }
    for (const [child, scope] of children(expr, bound)) visit(child, scope);
  };
  visit(root, new Set());
}

function maxId(expr: Expr): bigint {
  let max = expr.id;
  const kind = expr.exprKind;
  const parts =
    kind.case === 'comprehensionExpr'
      ? [kind.value.iterRange, kind.value.accuInit, kind.value.loopCondition, kind.value.loopStep, kind.value.result]
      : children(expr, new Set()).map(([child]) => child);
  for (const part of parts) {
    if (part) {
      const id = maxId(part);
      if (id > max) max = id;
    }
  }
  return max;
}
