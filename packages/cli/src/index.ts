// Public surface of @sealroom/cli: run a command line in-process, and the pieces commands are made of.
export { runCli } from './main.ts';
export type { CliIo } from './main.ts';
export type { ArgSpec, CommandContext, CommandSpec, FlagSpec } from './command.ts';
export { ApiError, CLI_ERRORS, CliError, UsageError } from './errors.ts';
export type { CliErrorCode } from './errors.ts';
export { changeIamPolicyBinding, getIamPolicy, BINDING_FLAGS } from './iam-helpers.ts';
export { renderOutput } from './format.ts';
