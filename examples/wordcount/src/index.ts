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
export { createMemoryStateStore, createSealedFileStateStore } from './sealed-state.ts';
export type { StateStore } from './sealed-state.ts';
export { createContributionProcessor } from './processor.ts';
export { keysFor } from './collaborator-keys.ts';
export type { CollaboratorKeys, ContributionProcessor, DeliveredMessage, Outcome } from './processor.ts';
export { openResult, resultAad, sealResult } from './results.ts';
