// The source digest: sha256 of a normalised tar of the source tree (no node_modules, no VCS metadata),
// so the same source gives the same digest wherever it is checked out.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { computeDigest } from '@sealroom/formats';
import { executableMode, type TarEntry, writeTar } from './tar.ts';

const SKIPPED = new Set(['node_modules', '.git', '.sealroom', '.tsbuild']);

export function listSourceEntries(dir: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      if (SKIPPED.has(name)) continue;
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const stats = statSync(join(dir, relPath));
      if (stats.isDirectory()) walk(relPath);
      else if (stats.isFile()) {
        entries.push({
          type: 'file',
          path: relPath,
          content: readFileSync(join(dir, relPath)),
          mode: executableMode(stats.mode),
        });
      }
    }
  };
  walk('');
  return entries;
}

export function computeSourceDigest(dir: string): string {
  return computeDigest(writeTar(listSourceEntries(dir)));
}
