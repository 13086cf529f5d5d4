// Public surface of @sealroom/cel: CEL compile/evaluate/explain and the WIF rules around it.
export { CEL_ERRORS, CelPolicyError } from './errors.ts';
export type { CelErrorCode } from './errors.ts';
export {
  extractTemplate,
  formatDoubleLikeGo,
  parseStrictDouble,
  parseStrictInt,
  parseStrictUint,
  sealroomCelEnv,
} from './env.ts';
export { toCelInput } from './input.ts';
export { compileCel } from './program.ts';
export type {
  CelBindings,
  CelEvaluation,
  CelExplanation,
  CelProgram,
  ClauseExplanation,
  ClauseOutcome,
  CompileCelOptions,
} from './program.ts';
export { findTopLevelOperators, spanOf } from './source.ts';
export type { SourceSpan } from './source.ts';
export { WIF_LIMITS, compileProviderPolicy } from './wif.ts';
export type {
  MappedIdentity,
  PolicyDecision,
  PolicyDenial,
  ProviderPolicy,
  ProviderPolicySource,
} from './wif.ts';
