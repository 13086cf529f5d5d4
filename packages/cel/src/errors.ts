// Error catalogue of @sealroom/cel: expressions refused at configuration time, evaluations cut off at the cost limit.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const CEL_ERRORS = {
  ERR_CEL_SYNTAX: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A CEL expression does not parse; the message gives the line and column.',
  },
  ERR_CEL_TOO_LONG: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A CEL expression is longer than its limit (condition 4096, mapping 2048 characters).',
  },
  ERR_CEL_LITERAL_RANGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An integer literal does not fit in int64 (or uint64 for a `u` literal).',
  },
  ERR_CEL_COST_ESTIMATE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "A CEL expression (or all of a provider's mapping and condition, or all the conditions of an IAM policy) has an estimated worst-case cost above the limit; the message names the estimate and the limit.",
  },
  ERR_CEL_COST_LIMIT: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description:
      'An evaluation was aborted at the runtime cost limit and counts as a denial: an IAM condition grants nothing and logs this code; a token exchange is refused with ERR_FEDERATION_COST_LIMIT.',
  },
  ERR_CEL_MAPPING_KEY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An attribute mapping key is not google.subject, google.groups or attribute.NAME with NAME of 1-100 [a-z0-9_].',
  },
  ERR_CEL_MAPPING_LIMIT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An attribute mapping lacks google.subject or has more than 50 custom attributes.',
  },
  ERR_CEL_CONVERSION: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      "A CEL function could not convert its argument (`int('x')`, an int64, uint64 or timestamp out of range, an `extract` template without exactly one `{name}`); the evaluation errs with cel-go's message, which denies.",
  },
  ERR_CEL_INPUT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A value given to a CEL evaluation is not JSON data (a function, a symbol, a bigint, undefined).',
  },
  ERR_CEL_BUSY: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'Too many costly CEL evaluations are waiting for a worker thread (or the server is shutting down); retry later. A token exchange answers 503 temporarily_unavailable; an IAM condition grants nothing.',
  },
  ERR_CEL_UNMETERED: {
    status: 'INTERNAL',
    retryable: false,
    description:
      'A CEL evaluation ran outside a cost meter; it is refused, which denies. A defect, never caused by a request.',
  },
} as const satisfies ErrorCatalog<string>;

export type CelErrorCode = keyof typeof CEL_ERRORS;

export class CelPolicyError extends SealroomError<CelErrorCode> {
  constructor(code: CelErrorCode, message: string, options?: SealroomErrorOptions) {
    super(CEL_ERRORS, code, message, options);
  }
}
