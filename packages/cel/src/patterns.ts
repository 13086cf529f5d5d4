// Compiles the constant patterns of `matches` calls once, when the expression is compiled.
import { RE2JS } from '@bufbuild/re2';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { CEL_COSTS } from './cost-model.ts';
import type { Matcher } from './meter.ts';
import { regexProgramSize } from './regex-size.ts';

/**
 * @bufbuild/cel compiles a pattern on every call; cel-go compiles constant ones when it plans. A
 * pattern whose compilation alone would cost more than `limit` is left alone (the estimate then
 * charges it on every call, and refuses the expression), as is one RE2 rejects (it stays an
 * evaluation error, as before).
 */
export function precompilePatterns(root: Expr | undefined, limit: number): Map<string, Matcher> {
  const compiled = new Map<string, Matcher>();
  const visit = (expr: Expr | undefined): void => {
    if (!expr) return;
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'selectExpr':
        visit(kind.value.operand);
        return;
      case 'callExpr': {
        const call = kind.value;
        if (call.function === 'matches') {
          const pattern = call.target ? call.args[0] : call.args[1];
          const constant = pattern?.exprKind.case === 'constExpr' ? pattern.exprKind.value.constantKind : undefined;
          if (constant?.case === 'stringValue') compile(constant.value);
        }
        visit(call.target);
        for (const arg of call.args) visit(arg);
        return;
      }
      case 'listExpr':
        for (const element of kind.value.elements) visit(element);
        return;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
          visit(entry.value);
        }
        return;
      case 'comprehensionExpr':
        for (const part of [
          kind.value.iterRange,
          kind.value.accuInit,
          kind.value.loopCondition,
          kind.value.loopStep,
          kind.value.result,
        ]) {
          visit(part);
        }
        return;
      default:
        return;
    }
  };
  const compile = (pattern: string): void => {
    if (compiled.has(pattern) || CEL_COSTS.regexCompile * regexProgramSize(pattern) > limit) return;
    try {
      compiled.set(pattern, RE2JS.compile(pattern));
    } catch {
      // Invalid: each evaluation reports it as an error, as @bufbuild/cel does.
    }
  };
  visit(root);
  return compiled;
}
