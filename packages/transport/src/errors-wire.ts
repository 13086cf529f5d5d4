// One mapping from errors to Google-shaped wire bodies, failing closed: unknown errors become a generic 500.
import { HTTP_STATUS_OF, isSealroomError, storageFaultOf } from '@sealroom/core';

export interface GoogleErrorBody {
  readonly error: {
    readonly code: number;
    readonly message: string;
    readonly status: string;
    readonly details: readonly Record<string, unknown>[];
  };
}

export const ERROR_DOMAIN = 'sealroom.dev';

/**
 * The HTTP status and body for `error`; never echoes the internals of an unexpected error. A file-system
 * error that means the disk is full or read-only is a 503 that says so, wherever it was raised.
 */
export function toGoogleError(thrown: unknown): { status: number; body: GoogleErrorBody } {
  const error = isSealroomError(thrown) ? thrown : (storageFaultOf(thrown) ?? thrown);
  if (isSealroomError(error)) {
    return {
      status: error.httpStatus,
      body: {
        error: {
          code: error.httpStatus,
          message: error.message,
          status: error.status,
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: error.code, domain: ERROR_DOMAIN }],
        },
      },
    };
  }
  const status = HTTP_STATUS_OF.INTERNAL;
  return {
    status,
    body: {
      error: {
        code: status,
        message: 'Internal error encountered.',
        status: 'INTERNAL',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_INTERNAL', domain: ERROR_DOMAIN },
        ],
      },
    },
  };
}
