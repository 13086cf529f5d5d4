// The `sealroom` command line with every command loaded: what tests and in-process callers run.
import { readFileSync } from 'node:fs';
import { COMMANDS } from './commands/index.ts';
import { type CliIo, loadedCatalog, runCommandLine } from './run.ts';

export type { CliIo } from './run.ts';

/** The CLI package's version (`sealroom --version`). */
export const CLI_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Runs one command line; returns the exit code (0 ok, 1 error, 2 usage). Output goes to `io` (the
 * process's streams by default), so scripts and tests can run commands in-process.
 *
 * @example
 * ```ts
 * let out = '';
 * const code = await runCli(['kms', 'keys', 'list', '--keyring=kr1', '--location=global', '--format=json'], {
 *   stdout: (text) => { out += text; },
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  return runCommandLine(loadedCatalog(COMMANDS, CLI_VERSION), argv, io);
}

/**
 * The `sealroom` binary's entry (`bin/sealroom.js` runs it on the pinned Node.js).
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  return runCli(argv);
}
