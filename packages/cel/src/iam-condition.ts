// IAM conditions (policy version 3): CEL over `request.time` and `resource.name|type|service`, within cost limits.
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { CelPolicyError } from './errors.ts';
import { CEL_COST_LIMITS } from './limits.ts';
import { CEL_OFFLOAD_LIMITS, type IamConditionFacts, type IamConditionResult, sharedCelWorkerPool } from './offload.ts';
import { type CelBindings, type CelProgram, compileCel } from './program.ts';
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

/** The variables a condition reads, from the facts of one authorization. */
export function iamConditionBindings(facts: IamConditionFacts): CelBindings {
  return {
    request: new Map([['time', timestampFromMs(facts.nowMs) as never]]),
    resource: new Map([
      ['name', facts.name],
      ['type', facts.type],
      ['service', facts.service],
    ]),
  };
}

/**
 * Evaluates a compiled condition: on this thread when its estimated worst case is within
 * CEL_OFFLOAD_LIMITS.inlineCost, else on the shared worker pool, so the event loop never waits
 * for a costly one. Rejects only with ERR_CEL_BUSY.
 */
export async function evaluateIamCondition(
  program: CelProgram,
  expression: string,
  facts: IamConditionFacts,
): Promise<IamConditionResult> {
  if (program.estimate.cost <= CEL_OFFLOAD_LIMITS.inlineCost) {
    const result = program.evaluate(iamConditionBindings(facts));
    if (!result.ok) return result;
    return { ok: true, value: typeof result.value === 'boolean' ? result.value : null };
  }
  return sharedCelWorkerPool().evaluateIamCondition(expression, facts);
}
