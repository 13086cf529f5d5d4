// The build context as content: the files `.dockerignore` keeps, with modes normalised (0644/0755, dirs
// 0755) so the host's umask never reaches the image; its digest, and a staged copy the engine reads.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { BuilderError } from '../errors.ts';
import { executableMode } from '../tar.ts';
import { parseDockerignore } from './dockerignore.ts';

export interface ContextEntry {
  /** Context-relative, `/`-separated. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly target?: string;
}

export interface BuildContext {
  readonly dir: string;
  /** Sorted by path bytes. */
  readonly entries: readonly ContextEntry[];
  /** sha256 over every entry's path, type, normalised mode and content (or link target). */
  readonly digest: string;
  readonly bytes: number;
}

const DIR_MODE = 0o755;

/**
 * Walks `dir` under `ignoreFile` (default `DIR/.dockerignore`); anything but files, directories and
 * symlinks is refused.
 */
export function readBuildContext(dir: string, ignoreFile?: string): BuildContext {
  const ignorePath = ignoreFile ?? join(dir, '.dockerignore');
  const matcher = parseDockerignore(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '');
  const entries: ContextEntry[] = [];
  const walk = (rel: string) => {
    const names = readdirSync(join(dir, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stats = lstatSync(join(dir, path));
      const ignored = matcher.ignores(path);
      if (stats.isDirectory()) {
        if (!ignored) entries.push({ path, type: 'dir', mode: DIR_MODE, size: 0 });
        if (!ignored || matcher.mayReinclude(path)) walk(path);
      } else if (ignored) {
      } else if (stats.isFile()) {
        entries.push({ path, type: 'file', mode: executableMode(stats.mode), size: stats.size });
      } else if (stats.isSymbolicLink()) {
        entries.push({ path, type: 'symlink', mode: 0o777, size: 0, target: readlinkSync(join(dir, path)) });
      } else {
        throw new BuilderError(
          'ERR_BUILDER_CONTEXT',
          `'${path}' in the build context is not a file, directory or symlink.`,
        );
      }
    }
  };
  walk('');
  // A file kept inside an ignored directory still needs its parents in the context.
  const present = new Set(entries.map((e) => e.path));
  for (const entry of [...entries]) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!present.has(parent)) {
        present.add(parent);
        entries.push({ path: parent, type: 'dir', mode: DIR_MODE, size: 0 });
      }
    }
  }
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const hash = createHash('sha256');
  let bytes = 0;
  for (const entry of entries) {
    hash.update(`${entry.type}\0${entry.path}\0${entry.mode.toString(8)}\0`);
    if (entry.type === 'file') {
      const content = readContextFile(dir, entry.path);
      hash.update(`${content.length}\0`).update(createHash('sha256').update(content).digest());
      bytes += content.length;
    } else if (entry.type === 'symlink') hash.update(`${entry.target}\0`);
  }
  return { dir, entries, digest: `sha256:${hash.digest('hex')}`, bytes };
}

function readContextFile(dir: string, path: string): Buffer {
  try {
    return readFileSync(join(dir, path));
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_CONTEXT', `'${path}' in the build context cannot be read.`, { cause });
  }
}

/**
 * Copies the context into `dest` with its normalised modes and every mtime set to `epochSeconds`, so what
 * the engine sees (and hashes into COPY history) is the same in every checkout.
 */
export function stageBuildContext(context: BuildContext, dest: string, epochSeconds: number): void {
  mkdirSync(dest, { recursive: true, mode: DIR_MODE });
  chmodSync(dest, DIR_MODE);
  for (const entry of context.entries) {
    const target = join(dest, entry.path);
    if (entry.type === 'dir') mkdirSync(target, { mode: DIR_MODE });
    else if (entry.type === 'symlink') symlinkSync(entry.target as string, target);
    else copyFileSync(join(context.dir, entry.path), target, constants.COPYFILE_FICLONE);
    if (entry.type !== 'symlink') chmodSync(target, entry.mode);
  }
  // Deepest first, so setting a child's time never touches its parent's again.
  for (const entry of [...context.entries].reverse()) {
    const target = join(dest, entry.path);
    if (entry.type === 'symlink') lutimesSync(target, epochSeconds, epochSeconds);
    else utimesSync(target, epochSeconds, epochSeconds);
  }
  utimesSync(dest, epochSeconds, epochSeconds);
}
