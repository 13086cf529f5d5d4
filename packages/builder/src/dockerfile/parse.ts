// Reads a Dockerfile only as far as the builder must: logical instructions with their line numbers,
// stages, and the images FROM and COPY --from name (with ARG expansion). The engine does the building.
import { BuilderError } from '../errors.ts';

export interface DockerfileInstruction {
  /** Upper-case keyword (`FROM`, `RUN`, …). */
  readonly keyword: string;
  /** The text after the keyword, continuation lines joined as the engine joins them. */
  readonly args: string;
  /** 1-based physical line of the keyword, and of the last line of the instruction. */
  readonly line: number;
  readonly endLine: number;
}

/** An image a stage starts from or copies from: what the Dockerfile says and what it expands to. */
export interface ImageUse {
  readonly instruction: DockerfileInstruction;
  /** The word as written (`${BASE}`, `busybox:1.36`). */
  readonly raw: string;
  /** After ARG expansion. */
  readonly reference: string;
  readonly kind: 'from' | 'copy-from';
  /** Index of the stage the instruction belongs to. */
  readonly stage: number;
}

export interface DockerfileStage {
  readonly index: number;
  /** `AS name`, lower-cased as the engine compares it. */
  readonly name: string | undefined;
  readonly from: DockerfileInstruction;
  /** FROM first, then every instruction of the stage: the engine's STEP n/m counts these. */
  readonly instructions: readonly DockerfileInstruction[];
  /** The stage builds on an earlier stage (by name or index), `scratch`, or an image. */
  readonly base: { readonly kind: 'stage'; readonly stage: number } | { readonly kind: 'scratch' } | ImageUse;
  /** Earlier stages this one builds on or copies from. */
  readonly uses: readonly number[];
}

export interface ParsedDockerfile {
  readonly lines: readonly string[];
  readonly escape: '\\' | '`';
  /** ARG instructions before the first FROM (the only ARGs a FROM line may use). */
  readonly globalArgs: readonly DockerfileInstruction[];
  readonly stages: readonly DockerfileStage[];
  /** Every image the build needs, in Dockerfile order. */
  readonly images: readonly ImageUse[];
}

/** Arguments every build defines (BuildKit's automatic platform ARGs), for one linux/amd64 target. */
export const PLATFORM_ARGS: Readonly<Record<string, string>> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
};

const MAX_DOCKERFILE_BYTES = 1024 * 1024;

const fail = (line: number, message: string): never => {
  throw new BuilderError('ERR_BUILDER_DOCKERFILE', `Dockerfile line ${line}: ${message}`);
};

/** Parser directives (`# escape=` …) come first, before any comment, blank line or instruction. */
function readEscape(lines: readonly string[]): '\\' | '`' {
  let escapeChar: '\\' | '`' = '\\';
  for (const [i, line] of lines.entries()) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S*)\s*$/.exec(line);
    if (!directive) break;
    if (directive[1]?.toLowerCase() === 'escape') {
      if (directive[2] !== '\\' && directive[2] !== '`') fail(i + 1, `invalid escape directive '${directive[2]}'.`);
      escapeChar = directive[2] as '\\' | '`';
    }
  }
  return escapeChar;
}

/** Splits the text into logical instructions; comment lines inside a continuation are dropped, as the engine does. */
export function toInstructions(text: string): {
  lines: string[];
  escape: '\\' | '`';
  instructions: DockerfileInstruction[];
} {
  if (Buffer.byteLength(text) > MAX_DOCKERFILE_BYTES) fail(1, 'the Dockerfile is larger than 1 MiB.');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const escapeChar = readEscape(lines);
  const continuation = new RegExp(`${escapeChar === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: DockerfileInstruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] as string;
    if (/^\s*(#.*)?$/.test(first)) {
      i += 1;
      continue;
    }
    const start = i;
    let logical = '';
    let current = first;
    for (;;) {
      if (!continuation.test(current)) {
        logical += current;
        break;
      }
      logical += current.replace(continuation, '');
      i += 1;
      while (i < lines.length && /^\s*#/.test(lines[i] as string)) i += 1;
      if (i >= lines.length) break;
      current = lines[i] as string;
    }
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (match) {
      instructions.push({
        keyword: (match[1] as string).toUpperCase(),
        args: (match[2] as string).trim(),
        line: start + 1,
        endLine: Math.min(i, lines.length - 1) + 1,
      });
    }
    i += 1;
  }
  return { lines, escape: escapeChar, instructions };
}

/** Shell-like words: whitespace-separated, quotes removed (JSON-form instructions are not split here). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`; unknown variables expand to nothing, as in the engine. */
export function expandVariables(text: string, vars: Readonly<Record<string, string>>, line: number): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (...m) => {
    const name = (m[1] ?? m[4]) as string;
    const op = m[2] as string | undefined;
    const word = (m[3] as string | undefined) ?? '';
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (op === undefined) return value ?? '';
    const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
    if (op.endsWith('-')) return set ? (value as string) : word;
    if (op.endsWith('+')) return set ? word : '';
    return fail(line, `unsupported variable expression in '${text.slice(0, 120)}'.`);
  });
}

/** `ARG a=1 b` → [['a','1'],['b',undefined]]. */
export function parseArgInstruction(instruction: DockerfileInstruction): [string, string | undefined][] {
  const words = splitWords(instruction.args);
  if (words.length === 0) fail(instruction.line, 'ARG requires at least one argument.');
  return words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(instruction.line, `invalid ARG name '${name.slice(0, 80)}'.`);
    return [name, eq < 0 ? undefined : word.slice(eq + 1)];
  });
}

/** `FROM [--platform=…] IMAGE [AS name]`. */
export function parseFromInstruction(instruction: DockerfileInstruction): {
  flags: string[];
  image: string;
  name: string | undefined;
} {
  const words = splitWords(instruction.args);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  if (rest.length === 1) return { flags, image: rest[0] as string, name: undefined };
  if (rest.length === 3 && rest[1]?.toUpperCase() === 'AS') {
    const name = (rest[2] as string).toLowerCase();
    if (!/^[a-z][a-z0-9_.-]*$/.test(name)) fail(instruction.line, `invalid stage name '${name.slice(0, 80)}'.`);
    return { flags, image: rest[0] as string, name };
  }
  return fail(instruction.line, 'FROM takes an image and an optional `AS name`.');
}

/** Reads the Dockerfile's stages and the images they need; `buildArgs` override ARG defaults. */
export function parseDockerfile(text: string, buildArgs: Readonly<Record<string, string>> = {}): ParsedDockerfile {
  const { lines, escape: escapeChar, instructions } = toInstructions(text);
  const firstFrom = instructions.findIndex((ins) => ins.keyword === 'FROM');
  if (firstFrom < 0)
    fail(instructions[0]?.line ?? 1, 'no FROM instruction: a Dockerfile starts its first stage with FROM.');
  const globalArgs = instructions.slice(0, firstFrom);
  for (const ins of globalArgs) {
    if (ins.keyword !== 'ARG') fail(ins.line, `${ins.keyword} comes before the first FROM; only ARG may.`);
  }
  const vars: Record<string, string> = { ...PLATFORM_ARGS };
  for (const ins of globalArgs) {
    for (const [name, value] of parseArgInstruction(ins)) {
      const given = Object.hasOwn(buildArgs, name) ? buildArgs[name] : undefined;
      const resolved = given ?? (value === undefined ? undefined : expandVariables(value, vars, ins.line));
      if (resolved !== undefined) vars[name] = resolved;
    }
  }
  const stages: DockerfileStage[] = [];
  const images: ImageUse[] = [];
  const stageByName = new Map<string, number>();
  let current: { from: DockerfileInstruction; instructions: DockerfileInstruction[] } | undefined;
  const close = () => {
    if (!current) return;
    const from = parseFromInstruction(current.from);
    const index = stages.length;
    const expanded = expandVariables(from.image, vars, current.from.line);
    if (expanded === '') fail(current.from.line, `FROM ${from.image} expands to an empty image name.`);
    const lower = expanded.toLowerCase();
    let base: DockerfileStage['base'];
    const uses: number[] = [];
    if (stageByName.has(lower)) {
      base = { kind: 'stage', stage: stageByName.get(lower) as number };
      uses.push(base.stage);
    } else if (lower === 'scratch') base = { kind: 'scratch' };
    else {
      base = { instruction: current.from, raw: from.image, reference: expanded, kind: 'from', stage: index };
      images.push(base);
    }
    for (const ins of current.instructions) {
      if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
      const flag = splitWords(ins.args).find((w) => w.startsWith('--from='));
      if (flag === undefined) continue;
      const raw = flag.slice('--from='.length);
      const value = expandVariables(raw, vars, ins.line);
      const byName = stageByName.get(value.toLowerCase());
      if (byName !== undefined) uses.push(byName);
      else if (/^\d+$/.test(value) && Number(value) < index) uses.push(Number(value));
      else images.push({ instruction: ins, raw, reference: value, kind: 'copy-from', stage: index });
    }
    stages.push({
      index,
      name: from.name,
      from: current.from,
      instructions: [current.from, ...current.instructions],
      base,
      uses,
    });
    if (from.name !== undefined) stageByName.set(from.name, index);
  };
  for (const ins of instructions.slice(firstFrom)) {
    if (ins.keyword === 'FROM') {
      close();
      current = { from: ins, instructions: [] };
    } else current?.instructions.push(ins);
  }
  close();
  return { lines, escape: escapeChar, globalArgs, stages, images };
}

/** The instruction the engine calls STEP `step` of stage `stage` (both 1-based, as it prints them). */
export function findStep(parsed: ParsedDockerfile, stage: number, step: number): DockerfileInstruction | undefined {
  return parsed.stages[stage - 1]?.instructions[step - 1];
}

/** The stage `target` names (the last stage by default), and every stage it needs, in order. */
export function neededStages(parsed: ParsedDockerfile, target?: string): number[] {
  let last = parsed.stages.length - 1;
  if (target !== undefined) {
    const found = parsed.stages.find((s) => s.name === target.toLowerCase());
    if (!found) {
      throw new BuilderError(
        'ERR_BUILDER_DOCKERFILE',
        `--target '${target.slice(0, 80)}' names no stage of the Dockerfile.`,
      );
    }
    last = found.index;
  }
  const needed = new Set<number>();
  const visit = (index: number) => {
    if (needed.has(index)) return;
    needed.add(index);
    for (const used of parsed.stages[index]?.uses ?? []) visit(used);
  };
  visit(last);
  return [...needed].sort((a, b) => a - b);
}

/**
 * The Dockerfile with each image use replaced by `replacement(use)` (a pinned, local reference), line
 * numbers unchanged so the engine's messages still point at the author's lines.
 */
export function rewriteImages(parsed: ParsedDockerfile, replacement: (use: ImageUse) => string | undefined): string {
  const lines = [...parsed.lines];
  for (const use of parsed.images) {
    const value = replacement(use);
    if (value === undefined) continue;
    const ins = use.instruction;
    if (use.kind === 'from') {
      const from = parseFromInstruction(ins);
      lines[ins.line - 1] = ['FROM', ...from.flags, value, ...(from.name ? ['AS', from.name] : [])].join(' ');
      for (let n = ins.line; n < ins.endLine; n++) lines[n] = '';
      continue;
    }
    const needle = `--from=${use.raw}`;
    const at = lines.findIndex((l, n) => n >= ins.line - 1 && n < ins.endLine && l.includes(needle));
    if (at < 0) fail(ins.line, `cannot rewrite '${needle.slice(0, 120)}' (quoted --from values are not supported).`);
    lines[at] = (lines[at] as string).replace(needle, `--from=${value}`);
  }
  return lines.join('\n');
}
