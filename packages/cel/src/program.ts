// Compile a CEL expression once and evaluate it many times, within a cost limit; explain it clause by clause.
import { type CelInput, type CelValue, isCelError, parse, plan } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { CelPolicyError } from './errors.ts';
import { type CostEstimate, estimateCost } from './estimate.ts';
import { fixedCost, instrumentComprehensions } from './instrument.ts';
import { CEL_COST_LIMITS } from './limits.ts';
import { CostMeter, type MeteredRun, meteredCelEnv, withMeter } from './meter.ts';
import { precompilePatterns } from './patterns.ts';
import type { Shape } from './shape.ts';
import { findTopLevelOperators, type SourceSpan, spanOf, trimRange } from './source.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export type CelBindings = Readonly<Record<string, CelInput>>;

export type CelEvaluation =
  | { readonly ok: true; readonly value: CelValue }
  | {
      readonly ok: false;
      readonly message: string;
      readonly at?: SourceSpan;
      /** Set when the evaluation was aborted at its cost limit (the result is then a denial). */
      readonly code?: 'ERR_CEL_COST_LIMIT';
    };

export type ClauseOutcome = 'true' | 'false' | 'error' | 'not-bool';

export interface ClauseExplanation {
  readonly index: number;
  readonly text: string;
  readonly span: SourceSpan;
  readonly outcome: ClauseOutcome;
  /** The evaluation error, for outcome `error`; never contains input values. */
  readonly message?: string;
}

export interface CelExplanation {
  readonly result: CelEvaluation;
  /** The operator joining the top-level clauses; undefined when the expression is one clause. */
  readonly operator: '&&' | '||' | undefined;
  readonly clauses: readonly ClauseExplanation[];
}

export interface EvaluateOptions {
  /**
   * Charges the evaluation to this meter (e.g. one shared by every expression of a decision).
   * The evaluation is also bounded by the program's own runtime limit.
   */
  readonly meter?: CostMeter;
}

export interface CelProgram {
  readonly source: string;
  /** Upper bound on the cost of one evaluation, and on the size of its result (cost-model.ts). */
  readonly estimate: CostEstimate;
  evaluate(bindings: CelBindings, options?: EvaluateOptions): CelEvaluation;
  /** Evaluates the whole and then each clause on its own, all charged to one meter. */
  explain(bindings: CelBindings, options?: EvaluateOptions): CelExplanation;
}

export interface CompileCelOptions {
  /** Longest accepted source, in characters. */
  readonly maxLength?: number;
  /** Names the expression in error messages (e.g. `attributeCondition`). */
  readonly label?: string;
  /** Size bounds of the variables the expression reads; any other identifier is unbounded. */
  readonly variables?: Readonly<Record<string, Shape>>;
  /**
   * Refuses the expression (ERR_CEL_COST_ESTIMATE) when its estimated worst-case cost is above
   * this. Unset, the estimate is only computed; policies pass CEL_COST_LIMITS.estimated.
   */
  readonly estimatedCostLimit?: number;
  /** Aborts any evaluation past this cost; CEL_COST_LIMITS.runtime when unset. */
  readonly runtimeCostLimit?: number;
}

type Evaluator = (bindings: CelBindings) => unknown;

interface Clause {
  readonly text: string;
  readonly span: SourceSpan;
  readonly run: Evaluator;
  /** What one evaluation charges up front (comprehension steps charge as they run). */
  readonly fixed: number;
}

/** Parses and plans `source`; throws CelPolicyError with a position when it cannot. */
export function compileCel(source: string, options: CompileCelOptions = {}): CelProgram {
  const label = options.label ?? 'expression';
  if (options.maxLength !== undefined && source.length > options.maxLength) {
    throw new CelPolicyError(
      'ERR_CEL_TOO_LONG',
      `${label} is ${source.length} characters long; the limit is ${options.maxLength}`,
    );
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (error) {
    const where = (error as { location?: { start?: { line: number; column: number } } }).location?.start;
    const at = where ? ` at line ${where.line}, column ${where.column}` : '';
    throw new CelPolicyError('ERR_CEL_SYNTAX', `${label} does not parse${at}`, { cause: error });
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  checkLiterals(parsed.expr, label);
  const root = parsed.expr;
  // Compiling a pattern is bounded by the default limit even for stored policies (Infinity).
  const regexes = precompilePatterns(
    root,
    Math.min(options.estimatedCostLimit ?? CEL_COST_LIMITS.estimated, CEL_COST_LIMITS.estimated),
  );
  const estimate = root
    ? estimateCost(root, { variables: options.variables ?? {}, precompiled: (p) => regexes.has(p) })
    : { cost: 0, shape: { len: 0, items: 0, deep: 1, elem: undefined } };
  if (options.estimatedCostLimit !== undefined && !(estimate.cost <= options.estimatedCostLimit)) {
    throw new CelPolicyError('ERR_CEL_COST_ESTIMATE', costMessage(label, estimate.cost, options.estimatedCostLimit));
  }
  if (root) instrumentComprehensions(root);
  const runtimeLimit = options.runtimeCostLimit ?? CEL_COST_LIMITS.runtime;
  const env = meteredCelEnv();
  const whole: Clause = {
    text: source,
    span: spanOf(source, 0, source.length),
    run: plan(env, parsed) as Evaluator,
    fixed: root ? fixedCost(root) : 0,
  };
  const positionOf = (exprId: bigint | undefined): SourceSpan | undefined => {
    if (exprId === undefined) return undefined;
    const offset = positions[String(exprId)];
    return offset === undefined ? undefined : spanOf(source, offset, offset);
  };
  const toEvaluation = (value: unknown, meter: CostMeter): CelEvaluation => {
    if (meter.exceeded) {
      return { ok: false, code: 'ERR_CEL_COST_LIMIT', message: costLimitMessage(meter) };
    }
    if (isCelError(value)) {
      const at = positionOf(value.exprId);
      return at ? { ok: false, message: value.message, at } : { ok: false, message: value.message };
    }
    return { ok: true, value: value as CelValue };
  };
  /** Runs one clause on a meter of its own, under `parent` when given. */
  const run = (clause: Clause, bindings: CelBindings, parent: CostMeter | undefined): [unknown, CostMeter] => {
    const meter = new CostMeter(runtimeLimit, parent);
    const metered: MeteredRun = { meter, regexes };
    const value = withMeter(metered, () => {
      try {
        meter.charge(clause.fixed);
        return clause.run(bindings);
      } catch (error) {
        // @bufbuild/cel turns a throw inside the evaluation into an error value; only the meter's
        // own throw can get here, and the meter says it ran out.
        if (meter.exceeded) return undefined;
        throw error;
      }
    });
    return [value, meter];
  };
  const split = splitClauses(source, parsed.expr);
  const clauses: Clause[] = split.parts.map((part) => ({
    text: part.text,
    span: part.span,
    run: plan(env, part.expr) as Evaluator,
    fixed: fixedCost(part.expr),
  }));
  return {
    source,
    estimate,
    evaluate: (bindings, evaluateOptions = {}) => {
      const [value, meter] = run(whole, bindings, evaluateOptions.meter);
      return toEvaluation(value, meter);
    },
    explain: (bindings, evaluateOptions = {}) => {
      // The whole and its clauses share one budget: explaining costs at most one more evaluation.
      const shared = evaluateOptions.meter ?? new CostMeter(2 * runtimeLimit);
      const [value, meter] = run(whole, bindings, shared);
      return {
        result: toEvaluation(value, meter),
        operator: split.operator,
        clauses: clauses.map((clause, index) => explainClause(clause, index, run(clause, bindings, shared))),
      };
    },
  };
}

function costLimitMessage(meter: CostMeter): string {
  return `evaluation exceeded its cost limit of ${meter.exceededLimit ?? meter.limit}`;
}

function costMessage(label: string, cost: number, limit: number): string {
  if (!Number.isFinite(cost)) {
    return `${label} has no bounded cost estimate (it reads a value of unknown size); the limit is ${limit}`;
  }
  return `${label} has an estimated worst-case cost of ${Math.ceil(cost)}, above the limit of ${limit}`;
}

function explainClause(clause: Clause, index: number, [value, meter]: [unknown, CostMeter]): ClauseExplanation {
  const base = { index, text: clause.text, span: clause.span };
  if (meter.exceeded) return { ...base, outcome: 'error', message: costLimitMessage(meter) };
  if (isCelError(value)) return { ...base, outcome: 'error', message: value.message };
  if (value === true) return { ...base, outcome: 'true' };
  if (value === false) return { ...base, outcome: 'false' };
  return { ...base, outcome: 'not-bool' };
}

interface SplitPart {
  readonly expr: Expr;
  readonly text: string;
  readonly span: SourceSpan;
}

/** The top-level clauses of an && or || chain, each with its source text. */
function splitClauses(source: string, root: Expr): { operator: '&&' | '||' | undefined; parts: SplitPart[] } {
  const operator = logicalOperatorOf(root);
  const whole = trimRange(source, 0, source.length);
  const single = (): { operator: undefined; parts: SplitPart[] } => ({
    operator: undefined,
    parts: [{ expr: root, text: source.slice(whole[0], whole[1]), span: spanOf(source, whole[0], whole[1]) }],
  });
  if (operator === undefined) return single();
  const exprs: Expr[] = [];
  flatten(root, operator, exprs);
  const cuts = findTopLevelOperators(source, operator);
  // The lexical split must agree with the tree; when it does not, explain the whole expression.
  if (cuts.length !== exprs.length - 1) return single();
  const bounds = [-2, ...cuts, source.length];
  const parts = exprs.map((expr, i) => {
    const [start, end] = trimRange(source, (bounds[i] as number) + 2, bounds[i + 1] as number);
    return { expr, text: source.slice(start, end), span: spanOf(source, start, end) };
  });
  return { operator, parts };
}

function logicalOperatorOf(expr: Expr): '&&' | '||' | undefined {
  if (expr.exprKind.case !== 'callExpr') return undefined;
  const fn = expr.exprKind.value.function;
  if (fn === '_&&_') return '&&';
  if (fn === '_||_') return '||';
  return undefined;
}

function flatten(expr: Expr, operator: '&&' | '||', out: Expr[]): void {
  if (logicalOperatorOf(expr) === operator && expr.exprKind.case === 'callExpr') {
    for (const arg of expr.exprKind.value.args) flatten(arg, operator, out);
    return;
  }
  out.push(expr);
}

/** @bufbuild/cel 0.6.1's parser accepts int literals beyond int64; cel-go refuses them. */
function checkLiterals(expr: Expr | undefined, label: string): void {
  if (expr === undefined) return;
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'constExpr': {
      const constant = kind.value.constantKind;
      if (
        (constant.case === 'int64Value' && (constant.value < INT64_MIN || constant.value > INT64_MAX)) ||
        (constant.case === 'uint64Value' && (constant.value < 0n || constant.value > UINT64_MAX))
      ) {
        throw new CelPolicyError('ERR_CEL_LITERAL_RANGE', `${label} has an integer literal out of range`);
      }
      return;
    }
    case 'selectExpr':
      checkLiterals(kind.value.operand, label);
      return;
    case 'callExpr':
      checkLiterals(kind.value.target, label);
      for (const arg of kind.value.args) checkLiterals(arg, label);
      return;
    case 'listExpr':
      for (const element of kind.value.elements) checkLiterals(element, label);
      return;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') checkLiterals(entry.keyKind.value, label);
        checkLiterals(entry.value, label);
      }
      return;
    case 'comprehensionExpr':
      checkLiterals(kind.value.iterRange, label);
      checkLiterals(kind.value.accuInit, label);
      checkLiterals(kind.value.loopCondition, label);
      checkLiterals(kind.value.loopStep, label);
      checkLiterals(kind.value.result, label);
      return;
    default:
      return;
  }
}
