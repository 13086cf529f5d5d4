// The installed `sealroom` (build.mjs bundles it into dist/): the commands' descriptions come from
// dist/commands.json, written at build time, and a command group's code is imported only when one of its
// commands runs, so that `sealroom --version` or `sealroom config list` loads next to nothing.
import { readFileSync } from 'node:fs';
import type { CommandSpec } from './command.ts';
import { CliError } from './errors.ts';
import { COMMAND_MODULES } from './lazy-commands.ts';
import { type CommandCatalog, type CommandEntry, runCommandLine } from './run.ts';

/** dist/commands.json: every command's description and the group file that has its code. */
export interface CommandManifest {
  readonly version: string;
  readonly commands: readonly (CommandEntry & { readonly module: string })[];
}

/** The exported command lists of a group module. */
export function commandsOf(module: Record<string, unknown>): CommandSpec[] {
  return Object.values(module).flatMap((value) =>
    Array.isArray(value) && value.every((c) => typeof c === 'object' && c !== null && 'path' in c && 'run' in c)
      ? (value as CommandSpec[])
      : [],
  );
}

export async function main(argv: readonly string[]): Promise<number> {
  const manifest = JSON.parse(readFileSync(new URL('./commands.json', import.meta.url), 'utf8')) as CommandManifest;
  const catalog: CommandCatalog = {
    entries: manifest.commands,
    version: manifest.version,
    async load(entry) {
      const { module } = entry as CommandManifest['commands'][number];
      const load = COMMAND_MODULES[module];
      const key = entry.path.join(' ');
      const spec = load && commandsOf(await load()).find((c) => c.path.join(' ') === key);
      // The manifest and the bundle are built together: a miss means a partial or stale build.
      if (!spec)
        throw new CliError('ERR_CLI_STALE_BUILD', `The installed CLI has no code for \`${key}\`; run \`npm ci\`.`);
      return spec;
    },
  };
  return runCommandLine(catalog, argv);
}
