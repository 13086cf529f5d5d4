// The `sealroom` command line over a catalogue of commands: finds the command, parses its arguments, loads
// and runs it, prints the result. main.ts gives it every command at once; entry.ts (the installed bundle)
// gives it their descriptions and loads a command group's code only when one of its commands runs.
import { createApiClient, resolveApiUrl } from './api-client.ts';
import { directWriter } from './direct-output.ts';
import { type CommandContext, type CommandSpec, GLOBAL_FLAGS, parseLine, UsageError } from './command.ts';
import { openCliConfig } from './config-store.ts';
import { renderOutput } from './format.ts';
import { didYouMean } from './suggest.ts';

/** gcloud's --verbosity levels; the last three hide the commands' notes on stderr. */
const VERBOSITIES = ['debug', 'info', 'warning', 'error', 'critical', 'none'];
const QUIET_VERBOSITIES = new Set(['error', 'critical', 'none']);

/** What a command is, without its code: enough to find it, parse its line and print its help. */
export type CommandEntry = Omit<CommandSpec, 'run'>;

/** The commands a command line can name, and how to get one's code. */
export interface CommandCatalog {
  readonly entries: readonly CommandEntry[];
  load(entry: CommandEntry): Promise<CommandSpec>;
  /** The CLI's version, for `sealroom --version`. */
  readonly version: string;
}

/** A catalogue of commands already loaded. */
export function loadedCatalog(commands: readonly CommandSpec[], version: string): CommandCatalog {
  return { entries: commands, load: async (entry) => entry as CommandSpec, version };
}

/**
 * A Sealroom error, whichever copy of the class raised it: a command group loaded from its sources raises
 * the sources' classes, which the bundled runner's `instanceof` would not know.
 */
function sealroomErrorOf(error: unknown): { code: string; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, status } = error as Error & { code?: unknown; status?: unknown };
  return typeof code === 'string' && code.startsWith('ERR_') && typeof status === 'string'
    ? { code, message: error.message }
    : undefined;
}

export interface CliIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** stderr is a terminal (progress replaces its line); by default, when stderr is the process's own TTY. */
  readonly stderrIsTty?: boolean;
}

/** Runs one command line; returns the exit code (0 ok, 1 error, 2 usage). */
export async function runCommandLine(
  catalog: CommandCatalog,
  argv: readonly string[],
  io: CliIo = {},
): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? directWriter(1);
  const rawStderr = io.stderr ?? directWriter(2);
  // A progress line redrawn in place is ended before anything else is written after it.
  let progressOpen = false;
  const stderr = (text: string) => {
    if (progressOpen) rawStderr('\n');
    progressOpen = false;
    rawStderr(text);
  };
  // Asked only when a command asks: process.stderr builds the stream the direct writes avoid.
  let tty: boolean | undefined;
  const interactive = () => {
    tty ??= io.stderrIsTty ?? (io.stderr === undefined && process.stderr.isTTY === true);
    return tty;
  };
  if (argv[0] === '--version' || (argv[0] === 'version' && argv.length === 1)) {
    stdout(`Sealroom CLI ${catalog.version}\nNode.js ${process.versions.node}\n`);
    return 0;
  }
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  if (argv[0] === 'completion') return completion(catalog.entries, argv.slice(1), stdout, stderr);
  const { command, rest } = findCommand(catalog.entries, argv);
  if (!command) {
    const words = argv.filter((w) => !w.startsWith('-'));
    // The longest known group the words begin with; the next word is the one not known.
    let known = 0;
    while (
      known < words.length &&
      catalog.entries.some((c) => words.slice(0, known + 1).every((w, i) => c.path[i] === w))
    )
      known += 1;
    if (known === words.length) {
      stdout(groupHelp(catalog.entries, words));
      return words.length === 0 && !argv.includes('--help') ? 2 : 0;
    }
    const prefix = words.slice(0, known);
    const choices = catalog.entries
      .filter((c) => prefix.every((w, i) => c.path[i] === w))
      .map((c) => c.path[known] as string);
    const where = ['sealroom', ...prefix].join(' ');
    stderr(
      `ERROR: (${['sealroom', ...prefix].join('.')}) Invalid choice: '${words[known]}'.${didYouMean(words[known] as string, choices)}\n` +
        `Run \`${where} --help\` for the commands of \`${where}\`.\n`,
    );
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
    const verbosity = String(line.flags.verbosity ?? 'warning');
    if (!VERBOSITIES.includes(verbosity))
      throw new UsageError(
        `argument --verbosity: Invalid choice: '${verbosity}'. Valid choices are ${VERBOSITIES.join(', ')}.`,
      );
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
        if (!line.flags.quiet && !QUIET_VERBOSITIES.has(verbosity)) stderr(`${text}\n`);
      },
      get interactive() {
        return !line.flags.quiet && interactive();
      },
      progress: (text, done) => {
        if (line.flags.quiet) return;
        if (!ctx.interactive) return stderr(`${text}\n`);
        rawStderr(`\r\x1b[2K${text.slice(0, Math.max(20, (process.stderr.columns ?? 100) - 1))}${done ? '\n' : ''}`);
        progressOpen = !done;
      },
    };
    const result = await (await catalog.load(command)).run(ctx);
    if (progressOpen) stderr('');
    stdout(renderOutput(result, (line.flags.format as string | undefined) ?? command.defaultFormat));
    return 0;
  } catch (error) {
    const known = sealroomErrorOf(error);
    if (known) {
      stderr(`ERROR: (sealroom.${command.path.join('.')}) ${known.message}\n`);
      return known.code === 'ERR_CLI_USAGE' ? 2 : 1;
    }
    stderr(`ERROR: (sealroom.${command.path.join('.')}) ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

function findCommand(
  commands: readonly CommandEntry[],
  argv: readonly string[],
): { command: CommandEntry | undefined; rest: string[] } {
  let best: CommandEntry | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return { command: best, rest: best ? argv.slice(best.path.length) : [...argv] };
}

function bindArgs(
  command: CommandEntry,
  positionals: readonly string[],
): Record<string, string | string[] | undefined> {
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

function groupHelp(commands: readonly CommandEntry[], prefix: readonly string[]): string {
  const below = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const head = `Usage: sealroom ${prefix.join(' ')}${prefix.length ? ' ' : ''}COMMAND [FLAGS]\n\n`;
  if (below.length > 25) {
    // Many commands: name the next words, as gcloud lists groups, each with what it holds.
    const next = [...new Set(below.map((c) => c.path[prefix.length] as string))].sort();
    const rows = next.map((word) => {
      const inside = below.filter((c) => c.path[prefix.length] === word);
      const only = inside.length === 1 && inside[0]?.path.length === prefix.length + 1 ? inside[0] : undefined;
      const subwords = [...new Set(inside.map((c) => c.path[prefix.length + 1]))];
      const what = only
        ? firstSentence(only.summary)
        : `${inside.length} commands: ${subwords.slice(0, 6).join(', ')}${subwords.length > 6 ? ', …' : ''}`;
      return `  ${word.padEnd(14)} ${what}`;
    });
    return `${head}Groups and commands:\n${rows.join('\n')}\n\nRun \`sealroom ${prefix.join(' ')}${prefix.length ? ' ' : ''}GROUP --help\` for its commands; \`sealroom --version\`; \`sealroom completion bash|zsh\`.\n`;
  }
  const lines = below.map(
    (c) =>
      `  sealroom ${c.path.join(' ')}${(c.args ?? []).map((a) => ` ${a.required ? a.name : `[${a.name}]`}`).join('')}\n      ${c.summary}`,
  );
  return `${head}${lines.join('\n')}\n`;
}

function commandHelp(command: CommandEntry): string {
  const flags = Object.entries({ ...command.flags, ...GLOBAL_FLAGS }).map(
    ([name, spec]) =>
      `  --${name}${spec.type === 'string' ? '=VALUE' : ''}${spec.required ? ' (required)' : ''}\n      ${spec.description}`,
  );
  return `sealroom ${command.path.join(' ')}${(command.args ?? []).map((a) => ` ${a.required ? a.name : `[${a.name}]`}`).join('')}\n\n${command.summary}\n\nFlags:\n${flags.join('\n')}\n`;
}

/** A summary's first sentence, at most 90 characters: one line of a group's listing. */
function firstSentence(text: string): string {
  const sentence = /^.*?[.!?](?=\s|$)/s.exec(text)?.[0] ?? text;
  return sentence.length > 90 ? `${sentence.slice(0, 89)}…` : sentence;
}

/** `sealroom completion bash|zsh`: a script that completes command words and flags from this catalogue. */
function completion(
  commands: readonly CommandEntry[],
  args: readonly string[],
  stdout: (text: string) => void,
  stderr: (text: string) => void,
): number {
  const shell = args[0];
  if (shell !== 'bash' && shell !== 'zsh') {
    stderr(`ERROR: (sealroom.completion) Name a shell: \`sealroom completion bash\` or \`sealroom completion zsh\`.\n`);
    return 2;
  }
  // One case arm per command prefix: the words that may follow it, and the flags of a complete command.
  const next = new Map<string, Set<string>>();
  for (const c of commands) {
    for (let i = 0; i < c.path.length; i++) {
      const key = c.path.slice(0, i).join(' ');
      next.set(key, (next.get(key) ?? new Set()).add(c.path[i] as string));
    }
    const flags = Object.keys({ ...c.flags, ...GLOBAL_FLAGS }).map((f) => `--${f}`);
    const key = c.path.join(' ');
    next.set(key, new Set([...(next.get(key) ?? []), ...flags]));
  }
  next.set('', (next.get('') ?? new Set()).add('help').add('completion').add('--version'));
  const arms = [...next.entries()]
    .map(([key, words]) => `    '${key}') sr_words='${[...words].sort().join(' ')}' ;;`)
    .join('\n');
  const body = `_sealroom_words() {
  local line="" w
  for w in "$@"; do
    case "$w" in -*) ;; *) line="\${line:+$line }$w" ;; esac
  done
  while :; do
    case "$line" in
${arms}
    *) case "$line" in *' '*) line="\${line% *}" ;; *) line='' ;; esac; continue ;;
    esac
    break
  done
}
`;
  if (shell === 'bash') {
    stdout(`# bash completion for sealroom: eval "$(sealroom completion bash)"
${body}_sealroom() {
  local sr_words
  _sealroom_words "\${COMP_WORDS[@]:1:COMP_CWORD-1}"
  COMPREPLY=($(compgen -W "$sr_words" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -F _sealroom sealroom
`);
  } else {
    stdout(`#compdef sealroom
# zsh completion for sealroom: eval "$(sealroom completion zsh)"
${body}_sealroom() {
  local sr_words
  _sealroom_words "\${(@)words[2,CURRENT-1]}"
  compadd -- \${=sr_words}
}
compdef _sealroom sealroom
`);
  }
  return 0;
}
