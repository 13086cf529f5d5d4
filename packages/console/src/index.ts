// Public surface of @sealroom/console: the web console's routes (app, landing page, docs) and its sign-in links.
export { CONSOLE_CSP, DEFAULT_DIST_DIR, loadConsoleAssets, SECURITY_HEADERS } from './assets.ts';
export type { ConsoleAssets, ConsoleFile } from './assets.ts';
export { CONSOLE_ERRORS, ConsoleError } from './errors.ts';
export type { ConsoleErrorCode } from './errors.ts';
export { createConsoleModule } from './module.ts';
export type { ConsoleModule, ConsoleOptions, UserCredential } from './module.ts';
export { openSignInCodes, SIGN_IN_CODE_TTL_MS } from './sign-in-codes.ts';
export type { SignInCodes } from './sign-in-codes.ts';
