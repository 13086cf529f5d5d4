// Go-style flags, so the seed's `go run … --topicProject=… --user=alice` lines run with only the program changed.
import { WordcountError } from '../errors.ts';

export interface ParsedFlags {
  readonly values: ReadonlyMap<string, string>;
  readonly positional: readonly string[];
}

/** `-flag=v`, `--flag=v`, `-flag v`, `--flag v`; a flag followed by another flag or nothing is boolean `true`. */
export function parseGoFlags(argv: readonly string[]): ParsedFlags {
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const match = /^--?([A-Za-z][\w-]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!match) {
      positional.push(arg);
      continue;
    }
    const name = match[1] ?? '';
    if (match[2] !== undefined) {
      values.set(name, match[2]);
    } else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        values.set(name, next);
        i += 1;
      } else {
        values.set(name, 'true');
      }
    }
  }
  return { values, positional };
}

/** A command line `sealroom-wordcount` does not accept: it prints its usage and exits with code 2. */
export class FlagError extends WordcountError {
  constructor(message: string) {
    super('ERR_WORDCOUNT_USAGE', message);
  }
}

export function requireFlag(flags: ParsedFlags, name: string): string {
  const value = flags.values.get(name);
  if (!value) throw new FlagError(`--${name} is required`);
  return value;
}

/** Refuses flags the command does not know, naming them. */
export function checkKnownFlags(flags: ParsedFlags, known: readonly string[]): void {
  const unknown = [...flags.values.keys()].filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new FlagError(`unknown flag: --${unknown[0]}`);
}
