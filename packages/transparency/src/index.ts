// Public surface of @sealroom/transparency: the Merkle log library (RFC 9162, C2SP notes, receipts) and the service.
export { TRANSPARENCY_ERRORS, TransparencyError } from './errors.ts';
export type { TransparencyErrorCode } from './errors.ts';
export {
  EMPTY_ROOT,
  HASH_BYTES,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
export type { NodeReader } from './merkle.ts';
export { CHUNK_LEVEL, createEdgeTree } from './edge-tree.ts';
export type { EdgeTree, LeafHashReader } from './edge-tree.ts';
export { createMemoryTree } from './tree.ts';
export type { HashTree } from './tree.ts';
export {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  formatSignatureLine,
  generateNoteKey,
  noteKeyFromSeed,
  noteKeyId,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from './note.ts';
export type { Ed25519NoteKey, NoteSignature, NoteSigner, NoteVerifier, ParsedNote } from './note.ts';
export { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
export type { Checkpoint } from './checkpoint.ts';
export { createCosigner, parseCosignatureVerifierKey } from './cosignature.ts';
export type { Cosigner, CosignatureVerifier } from './cosignature.ts';
export { RECEIPT_HEADER, formatReceipt, parseReceipt, verifyCheckpointNote, verifyReceipt } from './receipt.ts';
export type { Receipt, VerifiedCheckpoint, VerifiedReceipt, VerifyCheckpointOptions } from './receipt.ts';
export { checkExtends, openCheckpoint, toWitnessState, witnessCheckpoint } from './witness.ts';
export type { WitnessState, WitnessStep } from './witness.ts';
export { MAX_ENTRY_BYTES, canonicalJson, decisionOf, digestOf, kindOf, parseLeaf, toLeaf } from './entry.ts';
export type { Decision, EntryKind, FactValue, LogEntry } from './entry.ts';
export { CHECKPOINT_INTERVAL_MS, MAX_COSIGNATURES, openTransparencyLog } from './log.ts';
export type { LogCheckpoint, PendingLeaf, TransparencyLog, TransparencyLogOptions } from './log.ts';
export { TRANSPARENCY_LOG_LOCK, TRANSPARENCY_MIGRATIONS, openSqlTransparencyStore } from './store.ts';
export type { StoredCheckpoint, StoredLeaf, TransparencyStore } from './store.ts';
export { PERMISSION as TRANSPARENCY_PERMISSION, transparencyRoutes } from './http.ts';
export { openDeploymentLog, transparencyAuditSink, transparencyModule } from './module.ts';
export type { TransparencyOptions } from './module.ts';
