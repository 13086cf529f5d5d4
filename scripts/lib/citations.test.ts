// Comments cite only what is in the repository: a reader must be able to open what a comment points to.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';

/** The folders of committed source, scripts and tests. */
const ROOTS = ['packages', 'examples', 'scripts', 'test', 'bench'];
const SOURCE = /\.(ts|tsx|js|mjs|cjs|sh)$|(^|\/)Dockerfile$/;

/** Citations of documents outside the repository, wherever they appear (comments, messages, descriptions). */
const ANYWHERE: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\b[\w-]+\.md\W{0,3}§/, what: 'a numbered section of a Markdown document (docs/ pages have none)' },
  { pattern: /\breference\/[\w-]+\.md\b/, what: 'a research note that is not in the repository' },
  { pattern: /\bgcp-compat\b/, what: 'a research note that is not in the repository' },
  {
    pattern: /\b(STYLE|CONTRACTS|ARCHITECTURE)\.md\b|\bSTYLE rule\b/,
    what: 'a team note that is not in the repository',
  },
  { pattern: /\bseeds\/\d{3}\b/, what: 'a seed document that is not in the repository' },
];

/** Lines that quote a citation verbatim, each for a reason. */
const ALLOWED: readonly { readonly file: string; readonly line: RegExp; readonly why: string }[] = [
  {
    file: 'packages/core/src/contracts/claims.schema.ts',
    line: /Field names and types follow the Confidential Space token \(seeds 001/,
    why: 'the description of the shared claims contract, which claims.test.ts requires the schema to keep as is',
  },
];

/** An upper-case Markdown name (README.md) must be a file at the repository root. */
const ROOT_DOC = /\b([A-Z][A-Z0-9_]*\.md)\b/g;

/** A lower-case Markdown name in a comment: when docs/ has a page of that name, it must be cited as docs/NAME.md. */
const BARE_DOC = /(^|[^\w/.`'"-])([a-z][\w-]*\.md)\b/g;

/** The comment part of a line: a `//` comment, or a line inside a block comment. */
function commentOf(line: string): string {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('//') || trimmed.startsWith('/*') || trimmed.startsWith('*')) return trimmed;
  const at = line.search(/(^|\s)\/\/\s/);
  return at < 0 ? '' : line.slice(at);
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (SOURCE.test(path)) out.push(path);
  }
  return out;
}

/**
 * Every line of `text` that cites a document the repository rooted at `root` does not hold. Markdown pages
 * link each other by bare name (`[kms.md](kms.md)`), so only source comments must spell out `docs/`.
 */
export function outsideCitations(root: string, path: string, text: string): string[] {
  const markdown = path.endsWith('.md');
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `${path}:${i + 1}`;
    if (ALLOWED.some((a) => a.file === path && a.line.test(line))) return;
    for (const { pattern, what } of ANYWHERE) if (pattern.test(line)) found.push(`${where}: ${what}: ${line.trim()}`);
    for (const match of line.matchAll(ROOT_DOC)) {
      const name = match[1] as string;
      if (!existsSync(join(root, name))) found.push(`${where}: ${name} is not in the repository: ${line.trim()}`);
    }
    for (const match of (markdown ? '' : commentOf(line)).matchAll(BARE_DOC)) {
      const name = match[2] as string;
      if (existsSync(join(root, 'docs', name))) found.push(`${where}: cite docs/${name} by its path: ${line.trim()}`);
    }
  });
  return found;
}

test('source and docs cite only documents in the repository (quote the fact, or point to docs/)', () => {
  const root = resolveRepoRoot();
  const found: string[] = [];
  for (const top of ROOTS) {
    if (!existsSync(join(root, top))) continue;
    for (const file of sourceFiles(join(root, top))) {
      const path = relative(root, file).split('\\').join('/');
      if (path === 'scripts/lib/citations.test.ts') continue;
      found.push(...outsideCitations(root, path, readFileSync(file, 'utf8')));
    }
  }
  const pages = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((n) => `docs/${n}`),
  ];
  for (const page of pages) found.push(...outsideCitations(root, page, readFileSync(join(root, page), 'utf8')));
  assert.deepEqual(found, []);
});

test('the citation guard refuses section pointers, notes, missing root documents and bare docs names', () => {
  const root = resolveRepoRoot();
  const cases: readonly [string, boolean][] = [
    ['// Exit codes (launcher.md §3).', true],
    ['/** Limits of reference/cel.md. */', true],
    ['// The port goes separately (gcp-compat §5).', true],
    [' * Messages hold no secret (STYLE.md rule 13).', true],
    ['/** `hwmodel` values (CONTRACTS.md). */', true],
    ["/** cosign's tag (SIGNATURE_SPEC.md). */", true],
    ['// SIGTERM, then SIGKILL (launcher.md: 10 s).', true],
    ['// The seed tutorial (seeds/001) as command lines.', true],
    ['// SIGTERM, then SIGKILL (docs/launcher.md, "Exit codes and restart policy").', false],
    ['// TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) and RFC 9162 §2.1.1.', false],
    ['/** image-spec `layer.md`: whiteouts hide lower layers. */', false],
    ["const page = 'kms.md'; // a test page", false],
    ["['README.md', 'not part of the image']", false],
    ["'described in [verifier.md](verifier.md#configuration)'", false],
  ];
  assert.deepEqual(outsideCitations(root, 'docs/x.md', 'See [kms.md](kms.md) and launcher.md.'), []);
  assert.ok(outsideCitations(root, 'docs/x.md', 'Claims exactly as CONTRACTS.md.').length > 0);
  for (const [line, refused] of cases) assert.equal(outsideCitations(root, 'x.ts', line).length > 0, refused, line);
});
