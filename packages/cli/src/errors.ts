// The CLI's error catalogue: a command line it does not accept, a server it cannot reach or that refused.
// Only core's error module: the installed CLI's start loads this file, and all of `@sealroom/core` would
// bring sqlite and crypto with it (build.mjs splits the bundle by what each file imports).
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core/errors';

export const CLI_ERRORS = {
  ERR_CLI_USAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'The command line is not one the command accepts (an unknown flag or value, a missing argument, no project or account set); `sealroom` prints the reason and exits with code 2.',
  },
  ERR_CLI_UNREACHABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The CLI could not reach the Sealroom server (`--api`, `SEALROOM_API` or the configuration’s `api`); `sealroom` exits with code 1.',
  },
  ERR_CLI_REQUEST_FAILED: {
    status: 'UNKNOWN',
    retryable: false,
    description:
      'The server refused or failed a request; the message gives the server’s status and reason, and `sealroom` exits with code 1.',
  },
  ERR_CLI_STALE_BUILD: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'The installed CLI bundle (dist/) lacks a command its command list names; rebuild it with `npm ci` or `npm run build -w @sealroom/cli`.',
  },
} as const satisfies ErrorCatalog<string>;

export type CliErrorCode = keyof typeof CLI_ERRORS;

export class CliError extends SealroomError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options?: SealroomErrorOptions) {
    super(CLI_ERRORS, code, message, options);
  }
}

/** A command line the command does not accept: `sealroom` exits with code 2, as gcloud does. */
export class UsageError extends CliError {
  constructor(message: string, options?: SealroomErrorOptions) {
    super('ERR_CLI_USAGE', message, options);
  }
}

/** The server could not be reached (HTTP status 0), or answered with an error; `reason` is the server's code. */
export class ApiError extends CliError {
  readonly reason: string | undefined;
  constructor(httpStatus: number, message: string, reason?: string, options: SealroomErrorOptions = {}) {
    super(
      httpStatus === 0 ? 'ERR_CLI_UNREACHABLE' : 'ERR_CLI_REQUEST_FAILED',
      message,
      httpStatus === 0 ? options : { ...options, httpStatus },
    );
    this.reason = reason;
  }
}
