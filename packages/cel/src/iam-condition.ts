// IAM conditions (policy version 3): CEL over `request.time` and `resource.name|type|service`, within cost limits.
import { CelPolicyError } from './errors.ts';
import { CEL_COST_LIMITS } from './limits.ts';
import { type CelProgram, compileCel } from './program.ts';
import { joinShapes, mapShape, SCALAR, type Shape, stringShape } from './shape.ts';

export const IAM_CONDITION_LIMITS = {
  /** Google's limit on a condition's expression. */
  expressionMaxChars: 12_800,
  /**
   * The longest resource name a condition is evaluated on (the cost estimate relies on it); a
   * longer one grants nothing. Names in request paths cannot be longer: Node refuses a request
   * head over 16 KiB.
   */
  resourceNameMaxChars: 16_384,
} as const;

const VARIABLES: Readonly<Record<string, Shape>> = {
  request: mapShape(1, SCALAR),
  resource: mapShape(3, joinShapes(stringShape(IAM_CONDITION_LIMITS.resourceNameMaxChars), SCALAR) ?? SCALAR),
};

export interface CompileIamConditionOptions {
  /** Default CEL_COST_LIMITS.estimated; a stored policy is compiled with Infinity (see compileProviderPolicy). */
  readonly estimatedCostLimit?: number;
}

/** Compiles one condition expression; throws CelPolicyError (syntax, length, cost estimate). */
export function compileIamCondition(expression: string, options: CompileIamConditionOptions = {}): CelProgram {
  return compileCel(expression, {
    maxLength: IAM_CONDITION_LIMITS.expressionMaxChars,
    label: 'condition',
    variables: VARIABLES,
    estimatedCostLimit: options.estimatedCostLimit ?? CEL_COST_LIMITS.estimated,
  });
}

/**
 * Checks the conditions of one policy when it is set: each compiles and stays within the cost
 * estimate, and so do all of them together, since one authorization may evaluate every one.
 */
export function checkIamConditions(expressions: readonly string[]): void {
  let total = 0;
  for (const expression of expressions) total += compileIamCondition(expression).estimate.cost;
  if (total > CEL_COST_LIMITS.estimated) {
    throw new CelPolicyError(
      'ERR_CEL_COST_ESTIMATE',
      `the policy's conditions together have an estimated worst-case cost of ${Math.ceil(total)}, above the limit of ${CEL_COST_LIMITS.estimated}`,
    );
  }
}
