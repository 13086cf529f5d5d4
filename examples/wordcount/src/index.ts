// Public surface of the word-count example: the workload's parts and the collaborators' client pieces.
export { WORDCOUNT_ERRORS, WordcountError } from './errors.ts';
export type { WordcountErrorCode } from './errors.ts';
export { CONFIG_ENV, CONFIG_FILE_ENV, loadWordcountConfig, parseWordcountConfig } from './config.ts';
export type { CollaboratorConfig, WordcountConfig } from './config.ts';
export {
  ATTR_COLLABORATOR,
  ATTR_CONTRIBUTION_ID,
  ATTR_MODE,
  createContributionSealer,
  dataKeyAad,
  openContribution,
  parseContribution,
} from './contribution.ts';
export type { Contribution, ContributionMode, WireMessage } from './contribution.ts';
export { createTally } from './tally.ts';
export type { Tally, TallySnapshot, WordcountResult } from './tally.ts';
export { createMemoryStateStore, createSealedBlobStateStore, createSealedFileStateStore } from './sealed-state.ts';
export type { SealedBlobStore, StateStore } from './sealed-state.ts';
export { createContributionProcessor } from './processor.ts';
export { keysFor } from './collaborator-keys.ts';
export type { CollaboratorKeys, ContributionProcessor, DeliveredMessage, Outcome } from './processor.ts';
export { openResult, resultAad, sealResult } from './results.ts';
export { runScenario, waitFor } from './scenario/run-scenario.ts';
export type { ScenarioOptions, ScenarioOutcome } from './scenario/run-scenario.ts';
export { setUpTutorial } from './scenario/tutorial.ts';
export type { InstanceVariant, Party, Tutorial, TutorialOptions, WorkloadHandle } from './scenario/tutorial.ts';
export { instanceClaims, startDevAttestation } from './scenario/dev-attestation.ts';
export type { DevAttestation, DevInstanceClaims } from './scenario/dev-attestation.ts';
export { runWorkload } from './workload/run.ts';
export { openCollaboratorAccess } from './workload/collaborator-access.ts';
export type { CollaboratorAccess } from './workload/collaborator-access.ts';
export type { RunWorkloadOptions, RunningWorkload } from './workload/run.ts';
export { runWordcount } from './cli/main.ts';
