// Public surface of @sealroom/cel: CEL compile/evaluate/explain within cost limits, and the WIF and IAM rules around it.
export { CEL_ERRORS, CelPolicyError } from './errors.ts';
export type { CelErrorCode } from './errors.ts';
export {
  extractTemplate,
  formatDoubleLikeGo,
  parseStrictDouble,
  parseStrictInt,
  parseStrictUint,
} from './env.ts';
export {
  checkIamConditions,
  compileIamCondition,
  evaluateIamCondition,
  IAM_CONDITION_LIMITS,
  iamConditionBindings,
} from './iam-condition.ts';
export type { CompileIamConditionOptions } from './iam-condition.ts';
export { toCelInput } from './input.ts';
export { CEL_COSTS } from './cost-model.ts';
export type { CostEstimate } from './estimate.ts';
export { CEL_COST_LIMITS } from './limits.ts';
export { CostMeter } from './meter.ts';
export { CEL_OFFLOAD_LIMITS, createCelWorkerPool, sharedCelWorkerPool } from './offload.ts';
export type { CelWorkerPool, CelWorkerPoolOptions, IamConditionFacts, IamConditionResult } from './offload.ts';
export { compileCel } from './program.ts';
export { jsonShape, listShape, mapShape, SCALAR, stringShape, UNBOUNDED } from './shape.ts';
export type { Shape } from './shape.ts';
export type {
  CelBindings,
  CelEvaluation,
  CelExplanation,
  CelProgram,
  ClauseExplanation,
  ClauseOutcome,
  CompileCelOptions,
  EvaluateOptions,
} from './program.ts';
export { findTopLevelOperators, spanOf } from './source.ts';
export type { SourceSpan } from './source.ts';
export { WIF_LIMITS, compileProviderPolicy } from './wif.ts';
export type {
  CompileProviderPolicyOptions,
  MappedIdentity,
  PolicyDecision,
  PolicyDenial,
  ProviderPolicy,
  ProviderPolicySource,
} from './wif.ts';
