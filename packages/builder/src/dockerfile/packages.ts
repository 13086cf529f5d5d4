// The packages an image holds, read from its filesystem: dpkg's status database (and distroless
// `status.d`), apk's installed database, and npm packages under node_modules; named by package URL.
import type { SbomComponent } from '../sbom.ts';
import { toPurl } from '../sbom.ts';
import type { FsState } from './layers.ts';

type Stanza = Record<string, string>;

/** RFC 822-style stanzas (dpkg status, apk uses `K:value` lines, handled by `separator`). */
function parseStanzas(text: string, separator: RegExp): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(current).length > 0) stanzas.push(current);
      current = {};
      last = undefined;
      continue;
    }
    if (/^\s/.test(line) && last !== undefined) {
      current[last] = `${current[last]}\n${line.trim()}`;
      continue;
    }
    const m = separator.exec(line);
    if (!m) continue;
    last = m[1] as string;
    current[last] = (m[2] as string).trim();
  }
  if (Object.keys(current).length > 0) stanzas.push(current);
  return stanzas;
}

function readText(state: FsState, path: string): string | undefined {
  const node = state.get(path);
  return node?.type === 'file' && node.content ? node.content.toString('utf8') : undefined;
}

/** `ID` and `VERSION_ID` of os-release, for the `distro` qualifier of deb purls. */
function readOsRelease(state: FsState): { id: string; versionId: string | undefined } {
  const text = readText(state, 'etc/os-release') ?? readText(state, 'usr/lib/os-release') ?? '';
  const field = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
  return { id: field('ID') ?? 'debian', versionId: field('VERSION_ID') };
}

const purlPart = (text: string) => encodeURIComponent(text);

function debComponents(state: FsState): SbomComponent[] {
  const texts: string[] = [];
  const status = readText(state, 'var/lib/dpkg/status');
  if (status !== undefined) texts.push(status);
  for (const path of state.keys()) {
    if (path.startsWith('var/lib/dpkg/status.d/') && !path.endsWith('.md5sums'))
      texts.push(readText(state, path) ?? '');
  }
  const os = readOsRelease(state);
  const distro = os.versionId === undefined ? os.id : `${os.id}-${os.versionId}`;
  const out: SbomComponent[] = [];
  for (const text of texts) {
    for (const s of parseStanzas(text, /^([A-Za-z0-9-]+):(.*)$/)) {
      const name = s.Package;
      const version = s.Version;
      if (!name || !version) continue;
      if (s.Status !== undefined && !/\binstalled$/.test(s.Status)) continue;
      const arch = s.Architecture ?? 'all';
      out.push({
        name,
        version,
        purl: `pkg:deb/${purlPart(os.id)}/${purlPart(name)}@${purlPart(version)}?arch=${purlPart(arch)}&distro=${purlPart(distro)}`,
      });
    }
  }
  return out;
}

function apkComponents(state: FsState): SbomComponent[] {
  const text = readText(state, 'lib/apk/db/installed');
  if (text === undefined) return [];
  const os = readOsRelease(state);
  return parseStanzas(text, /^([A-Za-z]):(.*)$/)
    .filter((s) => s.P && s.V)
    .map((s) => ({
      name: s.P as string,
      version: s.V as string,
      purl: `pkg:apk/${purlPart(os.id)}/${purlPart(s.P as string)}@${purlPart(s.V as string)}${s.A ? `?arch=${purlPart(s.A)}` : ''}`,
      ...(s.L ? { license: s.L } : {}),
    }));
}

const NPM_PACKAGE_JSON = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/;

function npmComponents(state: FsState): SbomComponent[] {
  const out: SbomComponent[] = [];
  for (const path of state.keys()) {
    if (!NPM_PACKAGE_JSON.test(path)) continue;
    let pkg: { name?: unknown; version?: unknown; license?: unknown };
    try {
      pkg = JSON.parse(readText(state, path) ?? '') as typeof pkg;
    } catch {
      continue;
    }
    if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') continue;
    out.push({
      name: pkg.name,
      version: pkg.version,
      purl: toPurl(pkg.name, pkg.version),
      ...(typeof pkg.license === 'string' ? { license: pkg.license } : {}),
    });
  }
  return out;
}

/** Every package the image's filesystem records, deduplicated by purl and sorted by it. */
export function findImagePackages(state: FsState): SbomComponent[] {
  const byPurl = new Map<string, SbomComponent>();
  for (const c of [...debComponents(state), ...apkComponents(state), ...npmComponents(state)]) byPurl.set(c.purl, c);
  return [...byPurl.values()].sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
}
