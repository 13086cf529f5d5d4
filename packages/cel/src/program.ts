// Compile a CEL expression once and evaluate it many times; explain it clause by clause.
import { type CelInput, type CelValue, isCelError, parse, plan } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { sealroomCelEnv } from './env.ts';
import { CelPolicyError } from './errors.ts';
import { findTopLevelOperators, type SourceSpan, spanOf, trimRange } from './source.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export type CelBindings = Readonly<Record<string, CelInput>>;

export type CelEvaluation =
  | { readonly ok: true; readonly value: CelValue }
  | { readonly ok: false; readonly message: string; readonly at?: SourceSpan };

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

export interface CelProgram {
  readonly source: string;
  evaluate(bindings: CelBindings): CelEvaluation;
  explain(bindings: CelBindings): CelExplanation;
}

export interface CompileCelOptions {
  /** Longest accepted source, in characters. */
  readonly maxLength?: number;
  /** Names the expression in error messages (e.g. `attributeCondition`). */
  readonly label?: string;
}

type Evaluator = (bindings: CelBindings) => unknown;

interface Clause {
  readonly text: string;
  readonly span: SourceSpan;
  readonly run: Evaluator;
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
  const env = sealroomCelEnv();
  const whole = plan(env, parsed) as Evaluator;
  const positionOf = (exprId: bigint | undefined): SourceSpan | undefined => {
    if (exprId === undefined) return undefined;
    const offset = positions[String(exprId)];
    return offset === undefined ? undefined : spanOf(source, offset, offset);
  };
  const toEvaluation = (value: unknown): CelEvaluation => {
    if (isCelError(value)) {
      const at = positionOf(value.exprId);
      return at ? { ok: false, message: value.message, at } : { ok: false, message: value.message };
    }
    return { ok: true, value: value as CelValue };
  };
  const split = splitClauses(source, parsed.expr);
  const clauses: Clause[] = split.parts.map((part) => ({
    text: part.text,
    span: part.span,
    run: plan(env, part.expr) as Evaluator,
  }));
  return {
    source,
    evaluate: (bindings) => toEvaluation(whole(bindings)),
    explain: (bindings) => ({
      result: toEvaluation(whole(bindings)),
      operator: split.operator,
      clauses: clauses.map((clause, index) => explainClause(clause, index, bindings)),
    }),
  };
}

function explainClause(clause: Clause, index: number, bindings: CelBindings): ClauseExplanation {
  const value = clause.run(bindings);
  const base = { index, text: clause.text, span: clause.span };
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

/** The parser accepts int literals beyond int64 (reference/cel.md §2); cel-go refuses them. */
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
