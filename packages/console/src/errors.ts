// The console error catalogue: its assets, and the dev mode's one-time sign-in codes.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const CONSOLE_ERRORS = {
  ERR_CONSOLE_NOT_BUILT: {
    status: 'UNAVAILABLE',
    retryable: false,
    description:
      "The console's built assets are missing (packages/console/dist); `npm ci` builds them, or run `npm run build -w @sealroom/console`.",
  },
  ERR_CONSOLE_SIGN_IN_CODE: {
    status: 'UNAUTHENTICATED',
    retryable: false,
    description: 'The sign-in code is unknown, already used or expired; ask for a new sign-in link.',
  },
  ERR_CONSOLE_DEV_ONLY: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'One-time sign-in links exist only on a server started with --dev.',
  },
} as const satisfies ErrorCatalog<string>;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERRORS;

export class ConsoleError extends SealroomError<ConsoleErrorCode> {
  constructor(code: ConsoleErrorCode, message: string, options?: SealroomErrorOptions) {
    super(CONSOLE_ERRORS, code, message, options);
  }
}
