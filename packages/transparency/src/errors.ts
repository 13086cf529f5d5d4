// The transparency log's error catalogue: malformed notes and proofs, failed verifications, log misbehaviour.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const TRANSPARENCY_ERRORS = {
  ERR_TRANSPARENCY_BAD_NOTE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A signed note, checkpoint or receipt is not in the C2SP format (signed-note, tlog-checkpoint, tlog-proof); the message names the part.',
  },
  ERR_TRANSPARENCY_BAD_KEY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A log, witness or signer key is not a well-formed C2SP note key (name+keyid+base64) of a supported type.',
  },
  ERR_TRANSPARENCY_SIGNATURE_INVALID: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A note carries no valid signature from the trusted log key, or a signature from a trusted key fails to verify.',
  },
  ERR_TRANSPARENCY_WRONG_ORIGIN: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A checkpoint names another log (origin line) than the one whose key it is checked against.',
  },
  ERR_TRANSPARENCY_WITNESS_QUORUM: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'A checkpoint carries fewer valid cosignatures from the trusted witnesses than required.',
  },
  ERR_TRANSPARENCY_BAD_PROOF: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An inclusion or consistency proof has the wrong shape for its tree sizes (length, hash size).',
  },
  ERR_TRANSPARENCY_BAD_PROOF_REQUEST: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A proof was asked for an index or tree sizes the log does not have (index ≥ size, first > second).',
  },
  ERR_TRANSPARENCY_INCLUSION_MISMATCH: {
    status: 'DATA_LOSS',
    retryable: false,
    description:
      'An entry is not included in the checkpointed tree: the entry was altered or moved, or the proof is for another tree.',
  },
  ERR_TRANSPARENCY_INCONSISTENT: {
    status: 'DATA_LOSS',
    retryable: false,
    description:
      'A consistency proof does not show that the newer tree extends the older one: the log was rewritten or forked.',
  },
  ERR_TRANSPARENCY_SPLIT_VIEW: {
    status: 'DATA_LOSS',
    retryable: false,
    description:
      'Two checkpoints signed by the same log have the same size and different roots: the log shows a split view.',
  },
  ERR_TRANSPARENCY_ROLLBACK: {
    status: 'DATA_LOSS',
    retryable: false,
    description: 'The log presents a smaller tree than a checkpoint already seen from it: the log was rolled back.',
  },
  ERR_TRANSPARENCY_LOG_CORRUPT: {
    status: 'DATA_LOSS',
    retryable: false,
    description:
      'The stored log no longer matches its signed checkpoints (an entry was altered, removed or reordered in storage).',
  },
  ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN: {
    status: 'NOT_FOUND',
    retryable: false,
    description:
      'The log signed no checkpoint at the requested tree size, or a cosigned checkpoint is not one it signed.',
  },
  ERR_TRANSPARENCY_COSIGNATURE_LIMIT: {
    status: 'RESOURCE_EXHAUSTED',
    retryable: false,
    description: 'The checkpoint already carries the most cosignatures the log keeps for one checkpoint.',
  },
  ERR_TRANSPARENCY_BAD_ENTRY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A log entry (or a release summary a workload appends) is malformed or larger than the log accepts.',
  },
  ERR_TRANSPARENCY_TREE: {
    status: 'INTERNAL',
    retryable: false,
    description:
      'The in-memory Merkle tree was written out of order or asked for a node it does not hold: a defect, never caused by a request.',
  },
} as const satisfies ErrorCatalog<string>;

export type TransparencyErrorCode = keyof typeof TRANSPARENCY_ERRORS;

export class TransparencyError extends SealroomError<TransparencyErrorCode> {
  constructor(code: TransparencyErrorCode, message: string, options?: SealroomErrorOptions) {
    super(TRANSPARENCY_ERRORS, code, message, options);
  }
}
