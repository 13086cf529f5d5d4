// Errors of the wire contracts (token claims, verifier evidence): which member broke which rule.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '../errors.ts';
import type { SchemaIssue } from './json-schema.ts';

export const CONTRACT_ERRORS = {
  ERR_CLAIMS_MALFORMED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The token is not a compact JWT, or its payload is not a JSON object.',
  },
  ERR_CLAIMS_MISSING: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A claim the attestation token must carry is absent; the message names it (e.g. `submods.gce.zone`).',
  },
  ERR_CLAIMS_INVALID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A claim of the attestation token has the wrong type or value (docs/verifier.md, "The token"); the message names the claim and the rule.',
  },
  ERR_EVIDENCE_MALFORMED: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The evidence sent to the verifier is not a JSON object.',
  },
  ERR_EVIDENCE_UNKNOWN_FIELD: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The evidence has a field the verify method does not accept; the message names it.',
  },
  ERR_EVIDENCE_MISSING_FIELD: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A field the verify method requires is absent from the evidence; the message names it.',
  },
  ERR_EVIDENCE_INVALID_FIELD: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A field of the evidence has the wrong type, size or value; the message names it and the rule.',
  },
} as const satisfies ErrorCatalog<string>;

export type ContractErrorCode = keyof typeof CONTRACT_ERRORS;

/** A value refused by a contract; `path` names the member (`submods.container.image_digest`), `''` the value itself. */
export class ContractError extends SealroomError<ContractErrorCode> {
  readonly path: string;

  constructor(code: ContractErrorCode, message: string, path = '', options?: SealroomErrorOptions) {
    super(CONTRACT_ERRORS, code, message, options);
    this.path = path;
  }
}

/** A claims issue as an error; the value is never quoted (claims carry nonces). */
export function claimsError(issue: SchemaIssue): ContractError {
  if (issue.path === '') return new ContractError('ERR_CLAIMS_MALFORMED', `Token claims: ${issue.rule}.`);
  return issue.kind === 'missing'
    ? new ContractError('ERR_CLAIMS_MISSING', `Token claim '${issue.path}' is required.`, issue.path)
    : new ContractError(
        'ERR_CLAIMS_INVALID',
        issue.kind === 'unknown'
          ? `Token claim '${issue.path}' is not a known claim.`
          : `Invalid token claim '${issue.path}': ${issue.rule}.`,
        issue.path,
      );
}

/** An evidence issue as an error, in the words Google's APIs use for a request body. */
export function evidenceError(issue: SchemaIssue, what: string): ContractError {
  if (issue.path === '') return new ContractError('ERR_EVIDENCE_MALFORMED', `Invalid ${what}: expected a JSON object.`);
  switch (issue.kind) {
    case 'unknown':
      return new ContractError(
        'ERR_EVIDENCE_UNKNOWN_FIELD',
        `Invalid JSON payload received. Unknown name "${issue.path}": Cannot find field.`,
        issue.path,
      );
    case 'missing':
      return new ContractError('ERR_EVIDENCE_MISSING_FIELD', `Missing required field '${issue.path}'.`, issue.path);
    case 'invalid':
      return new ContractError(
        'ERR_EVIDENCE_INVALID_FIELD',
        `Invalid value at '${issue.path}': ${issue.rule}.`,
        issue.path,
      );
  }
}
