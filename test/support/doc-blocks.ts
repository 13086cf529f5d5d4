// The shell blocks of README.md and docs/ that a reader is meant to run as written, in reading order, for the
// test that runs them. A block opts out with `no-run` in its info string (```sh no-run: a synopsis, or needs
// hardware); `needs=TOOL` names a program it needs, without which the test skips it and says so.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShellBlock {
  /** `README.md:123` (the opening fence's line), to name a block that failed. */
  readonly where: string;
  readonly code: string;
  /** Programs the block needs (`needs=buildah,runc`). */
  readonly needs: readonly string[];
}

const FENCE = /^```(\S*)(.*)$/;
const SHELLS = new Set(['sh', 'bash', 'shell']);

/** Every shell block of `markdown` that is meant to run, with where it starts. */
export function extractShellBlocks(markdown: string, file: string, fromLine = 1, toLine = Infinity): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !(lines[i] as string).startsWith('```'); i++) body.push(lines[i] as string);
    const words = (open[2] ?? '').trim().split(/\s+/).filter(Boolean);
    if (!SHELLS.has(open[1] ?? '') || words.includes('no-run')) continue;
    if (start + 1 < fromLine || start + 1 > toLine) continue;
    const needs = words.flatMap((w) => (w.startsWith('needs=') ? w.slice('needs='.length).split(',') : []));
    blocks.push({ where: `${file}:${start + 1}`, code: body.join('\n'), needs });
  }
  return blocks;
}

/**
 * README.md from "The CLI" on (its role sections; the first blocks install and start the server the test
 * starts itself), then each page of docs/ in name order.
 */
export function collectDocBlocks(root: string): ShellBlock[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const from = lines.findIndex((l) => l === '## The CLI') + 1;
  const to = lines.findIndex((l) => l === '## Repository map') + 1;
  const blocks = extractShellBlocks(readme, 'README.md', from > 0 ? from : 1, to > 0 ? to : Infinity);
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  for (const page of docs)
    blocks.push(...extractShellBlocks(readFileSync(join(root, 'docs', page), 'utf8'), `docs/${page}`));
  return blocks;
}
