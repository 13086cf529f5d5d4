// The `sealroom` command line: finds the command, parses its arguments, runs it, prints the result.
import { isSealroomError } from '@sealroom/core';
import { ApiError, createApiClient, resolveApiUrl } from './api-client.ts';
import { type CommandContext, type CommandSpec, GLOBAL_FLAGS, parseLine, UsageError } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { openCliConfig } from './config-store.ts';
import { renderOutput } from './format.ts';

export interface CliIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** stderr is a terminal (progress replaces its line); by default, when stderr is the process's own TTY. */
  readonly stderrIsTty?: boolean;
}

/** Runs one command line; returns the exit code (0 ok, 1 error, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? ((text: string) => process.stdout.write(text));
  const rawStderr = io.stderr ?? ((text: string) => process.stderr.write(text));
  // A progress line redrawn in place is ended before anything else is written after it.
  let progressOpen = false;
  const stderr = (text: string) => {
    if (progressOpen) rawStderr('\n');
    progressOpen = false;
    rawStderr(text);
  };
  const interactive = io.stderrIsTty ?? (io.stderr === undefined && process.stderr.isTTY === true);
  const { command, rest } = findCommand(argv);
  if (!command) {
    const words = argv.filter((w) => !w.startsWith('-'));
    if (words.length === 0 || argv.includes('--help')) {
      stdout(groupHelp(words));
      return words.length === 0 && !argv.includes('--help') ? 2 : 0;
    }
    stderr(`ERROR: (sealroom) Invalid choice: '${words.join(' ')}'.\n${groupHelp(words.slice(0, -1))}`);
    return 2;
  }
  try {
    const specs = { ...GLOBAL_FLAGS, ...command.flags };
    const line = parseLine(rest, specs);
    if (line.flags.help) {
      stdout(commandHelp(command));
      return 0;
    }
    const args = bindArgs(command, line.positionals);
    for (const [name, spec] of Object.entries(command.flags ?? {})) {
      if (spec.required && line.flags[name] === undefined)
        throw new UsageError(`argument --${name}: must be specified.`);
    }
    const config = openCliConfig(env, line.flags.configuration as string | undefined);
    const api = createApiClient(
      resolveApiUrl(line.flags.api as string | undefined, env, config),
      config,
      line.flags.account as string | undefined,
    );
    const ctx: CommandContext = {
      args,
      flags: line.flags,
      config,
      api,
      env,
      project() {
        const project = (line.flags.project as string | undefined) ?? config.current.core?.project;
        if (!project)
          throw new UsageError(
            'The required property [project] is not currently set. Use --project or `sealroom config set project ID`.',
          );
        return project;
      },
      out: (text) => stdout(`${text}\n`),
      err: (text) => {
        if (!line.flags.quiet) stderr(`${text}\n`);
      },
      interactive: interactive && !line.flags.quiet,
      progress: (text, done) => {
        if (line.flags.quiet) return;
        if (!interactive) return stderr(`${text}\n`);
        rawStderr(`\r\x1b[2K${text.slice(0, Math.max(20, (process.stderr.columns ?? 100) - 1))}${done ? '\n' : ''}`);
        progressOpen = !done;
      },
    };
    const result = await command.run(ctx);
    if (progressOpen) stderr('');
    stdout(renderOutput(result, line.flags.format as string | undefined));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      stderr(`ERROR: (sealroom.${command.path.join('.')}) ${error.message}\n`);
      return 2;
    }
    if (error instanceof ApiError || isSealroomError(error)) {
      stderr(`ERROR: (sealroom.${command.path.join('.')}) ${error.message}\n`);
      return 1;
    }
    stderr(`ERROR: (sealroom.${command.path.join('.')}) ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

function findCommand(argv: readonly string[]): { command: CommandSpec | undefined; rest: string[] } {
  let best: CommandSpec | undefined;
  for (const command of COMMANDS) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return { command: best, rest: best ? argv.slice(best.path.length) : [...argv] };
}

function bindArgs(command: CommandSpec, positionals: readonly string[]): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  const specs = command.args ?? [];
  let i = 0;
  for (const spec of specs) {
    if (spec.variadic) {
      out[spec.name] = positionals.slice(i);
      i = positionals.length;
      if (spec.required && (out[spec.name] as string[]).length === 0)
        throw new UsageError(`argument ${spec.name}: must be specified.`);
      continue;
    }
    const value = positionals[i];
    if (value === undefined && spec.required) throw new UsageError(`argument ${spec.name}: must be specified.`);
    out[spec.name] = value;
    i += 1;
  }
  if (i < positionals.length) throw new UsageError(`unrecognized arguments: ${positionals.slice(i).join(' ')}`);
  return out;
}

function groupHelp(prefix: readonly string[]): string {
  const below = COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const head = `Usage: sealroom ${prefix.join(' ')}${prefix.length ? ' ' : ''}COMMAND [FLAGS]\n\n`;
  if (below.length > 25) {
    // Many commands: name the next words, as gcloud lists groups, rather than every command.
    const next = [...new Set(below.map((c) => c.path[prefix.length] as string))].sort();
    return `${head}Groups and commands:\n${next.map((w) => `  ${w}`).join('\n')}\n\nRun \`sealroom ${prefix.join(' ')}${prefix.length ? ' ' : ''}GROUP --help\` for its commands.\n`;
  }
  const lines = below.map(
    (c) =>
      `  sealroom ${c.path.join(' ')}${(c.args ?? []).map((a) => ` ${a.required ? a.name : `[${a.name}]`}`).join('')}\n      ${c.summary}`,
  );
  return `${head}${lines.join('\n')}\n`;
}

function commandHelp(command: CommandSpec): string {
  const flags = Object.entries({ ...command.flags, ...GLOBAL_FLAGS }).map(
    ([name, spec]) =>
      `  --${name}${spec.type === 'string' ? '=VALUE' : ''}${spec.required ? ' (required)' : ''}\n      ${spec.description}`,
  );
  return `sealroom ${command.path.join(' ')}${(command.args ?? []).map((a) => ` ${a.required ? a.name : `[${a.name}]`}`).join('')}\n\n${command.summary}\n\nFlags:\n${flags.join('\n')}\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  return runCli(argv);
}
