// A minimal base image made from Debian packages installed on this machine (no network, no debootstrap):
// the packages and everything they depend on, each file checked against dpkg's md5sums, plus a dpkg
// status database naming them (so an SBOM finds them), /etc/passwd, /tmp and busybox's applet links.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { BuiltImage } from './build.ts';
import { BuilderError } from './errors.ts';
import { buildImageConfig, buildImageManifest, toCreated } from './image.ts';
import { type Compression, toLayerBlob } from './layer.ts';
import { type TarEntry, writeTar } from './tar.ts';

export interface DebianBaseOptions {
  /** Installed packages to include (with their Depends and Pre-Depends), e.g. `busybox-static`, `gcc`. */
  readonly packages: readonly string[];
  /** Default `none`: base layers are large and stay local; the build's own layer is compressed. */
  readonly compression?: Compression;
  readonly sourceDateEpoch?: number;
}

export type BaseImageBuild = Pick<
  BuiltImage,
  'digest' | 'configDigest' | 'manifest' | 'config' | 'layers' | 'blobs'
> & {
  /** `name=version` of every package in the image, sorted. */
  readonly packages: readonly string[];
};

export interface InstalledPackage {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly depends: string;
  readonly provides: string;
  readonly conffiles: string;
}

/** Documentation a slim base leaves out (Debian's own minimal images exclude the same). */
const EXCLUDED = /^\/usr\/share\/(doc|doc-base|man|info|locale|lintian|bug)(\/|$)/;
const FIELDS = [
  'binary:Package',
  'Package',
  'Version',
  'Architecture',
  'Status',
  'Pre-Depends',
  'Depends',
  'Provides',
  'Conffiles',
];

const fail = (message: string): never => {
  throw new BuilderError('ERR_BUILDER_IMPORT', message);
};

function readInstalled(): Map<string, InstalledPackage> {
  let text: string;
  try {
    text = execFileSync('dpkg-query', ['-W', `-f=${FIELDS.map((f) => `\${${f}}`).join('\\t')}\\n`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_IMPORT', 'dpkg-query is not available: a dpkg: image needs a Debian host.', {
      cause,
    });
  }
  const installed = new Map<string, InstalledPackage>();
  for (const line of text.split('\n')) {
    const [id, name, version, arch, status, pre, deps, provides, conffiles] = line.split('\t');
    if (!id || !name || !status?.endsWith(' installed')) continue;
    installed.set(name, {
      id,
      name,
      version: version ?? '',
      arch: arch ?? '',
      depends: [pre, deps].filter(Boolean).join(', '),
      provides: provides ?? '',
      conffiles: conffiles ?? '',
    });
  }
  return installed;
}

/** The requested packages and their dependency closure; an alternative or virtual name takes the first installed match. */
export function resolvePackageClosure(
  requested: readonly string[],
  installed: Map<string, InstalledPackage>,
): InstalledPackage[] {
  const providers = new Map<string, string[]>();
  for (const pkg of installed.values()) {
    for (const p of pkg.provides.split(',')) {
      const name = p.trim().split(/[\s(:]/)[0];
      if (name) providers.set(name, [...(providers.get(name) ?? []), pkg.name].sort());
    }
  }
  const chosen = new Map<string, InstalledPackage>();
  const pending = requested.map((r) => {
    const name = r.split(':')[0] as string;
    if (!installed.has(name)) fail(`Debian package '${r.slice(0, 80)}' is not installed on this machine.`);
    return name;
  });
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (chosen.has(name)) continue;
    const pkg = installed.get(name) as InstalledPackage;
    chosen.set(name, pkg);
    for (const dep of pkg.depends.split(',')) {
      if (dep.trim() === '') continue;
      const alternatives = dep.split('|').map((a) => a.trim().split(/[\s(:]/)[0] as string);
      const pick =
        alternatives.find((a) => installed.has(a)) ?? alternatives.map((a) => providers.get(a)?.[0]).find(Boolean);
      if (pick === undefined) fail(`'${name}' depends on '${dep.trim()}', which no installed package satisfies.`);
      pending.push(pick as string);
    }
  }
  return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Where a host path lands in the image: symlinked directories (merged /usr) resolved to their targets. */
function toImagePath(hostPath: string): string {
  const parent = dirname(hostPath);
  const real = existsSync(parent) ? realpathSync(parent) : parent;
  return `${real === '/' ? '' : real}/${basename(hostPath)}`.replace(/^\/+/, '');
}

function md5Sums(pkg: InstalledPackage): Map<string, string> {
  const sums = new Map<string, string>();
  const file = `/var/lib/dpkg/info/${pkg.id}.md5sums`;
  if (!existsSync(file)) return sums;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{32})\s+(.+)$/.exec(line);
    if (m) sums.set(`/${m[2]}`, m[1] as string);
  }
  for (const line of pkg.conffiles.split('\n')) {
    const m = /^\s*(\/\S+)\s+([0-9a-f]{32})/.exec(line);
    if (m) sums.set(m[1] as string, m[2] as string);
  }
  return sums;
}

function packageEntries(pkg: InstalledPackage, entries: Map<string, TarEntry>): void {
  const listFile = `/var/lib/dpkg/info/${pkg.id}.list`;
  if (!existsSync(listFile)) fail(`dpkg has no file list for '${pkg.id}'.`);
  const sums = md5Sums(pkg);
  for (const hostPath of readFileSync(listFile, 'utf8').split('\n')) {
    if (hostPath === '' || hostPath === '/.' || EXCLUDED.test(hostPath)) continue;
    const path = toImagePath(hostPath);
    if (entries.has(path)) continue;
    const stats = lstatSync(hostPath, { throwIfNoEntry: false });
    if (stats === undefined) {
      throw new BuilderError(
        'ERR_BUILDER_IMPORT',
        `'${hostPath}' of Debian package ${pkg.name} is missing on this machine.`,
      );
    }
    if (stats.isSymbolicLink()) entries.set(path, { type: 'symlink', path, target: readlinkSync(hostPath) });
    else if (stats.isDirectory()) entries.set(path, { type: 'dir', path, mode: stats.mode & 0o7777 });
    else if (stats.isFile()) {
      const content = readFileSync(hostPath);
      const want = sums.get(hostPath);
      if (want !== undefined && createHash('md5').update(content).digest('hex') !== want) {
        fail(`'${hostPath}' differs from the file of Debian package ${pkg.name} (dpkg md5sums); refusing it.`);
      }
      entries.set(path, { type: 'file', path, content, mode: stats.mode & 0o7777 });
    }
  }
}

/** Each included package's stanza from dpkg's status file, so tools in and on the image see them installed. */
function statusDatabase(packages: readonly InstalledPackage[]): Buffer {
  const wanted = new Set(packages.map((p) => p.name));
  const stanzas = readFileSync('/var/lib/dpkg/status', 'utf8')
    .split(/\n\n+/)
    .filter((s) => wanted.has(/^Package: (\S+)$/m.exec(s)?.[1] ?? '') && /^Status: .* installed$/m.test(s))
    .map((s) => s.trim())
    .sort((a, b) => (a < b ? -1 : 1));
  return Buffer.from(`${stanzas.join('\n\n')}\n`);
}

function systemEntries(entries: Map<string, TarEntry>): void {
  const file = (path: string, text: string, mode = 0o644) =>
    entries.has(path) || entries.set(path, { type: 'file', path, content: Buffer.from(text), mode });
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  file('etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  if (existsSync('/usr/lib/os-release')) file('usr/lib/os-release', readFileSync('/usr/lib/os-release', 'utf8'));
  if (!entries.has('etc/os-release'))
    entries.set('etc/os-release', { type: 'symlink', path: 'etc/os-release', target: '../usr/lib/os-release' });
  entries.set('tmp', { type: 'dir', path: 'tmp', mode: 0o1777 });
  entries.set('root', { type: 'dir', path: 'root', mode: 0o700 });
  // merged /usr: the host's top-level links (bin → usr/bin …), where the image has their targets.
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const host = `/${name}`;
    if (!existsSync(host) || !lstatSync(host).isSymbolicLink()) continue;
    const target = readlinkSync(host);
    const inside = target.replace(/^\/+/, '');
    if ([...entries.keys()].some((p) => p === inside || p.startsWith(`${inside}/`))) {
      entries.set(name, { type: 'symlink', path: name, target });
    }
  }
}

function busyboxLinks(entries: Map<string, TarEntry>): void {
  const binary = ['usr/bin/busybox', 'bin/busybox'].find((p) => entries.get(p)?.type === 'file');
  if (binary === undefined) return;
  const hostBinary = existsSync('/usr/bin/busybox') ? '/usr/bin/busybox' : '/bin/busybox';
  const applets = execFileSync(hostBinary, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const path = toImagePath(`/${applet}`);
    if (!entries.has(path)) entries.set(path, { type: 'symlink', path, target: `/${binary}` });
  }
}

/** Builds the base image (one layer); the same packages at the same versions give the same digest. */
export function buildDebianBaseImage(options: DebianBaseOptions): BaseImageBuild {
  if (options.packages.length === 0) fail('A dpkg: image needs at least one package.');
  const packages = resolvePackageClosure(options.packages, readInstalled());
  const entries = new Map<string, TarEntry>();
  for (const pkg of packages) packageEntries(pkg, entries);
  busyboxLinks(entries);
  entries.set('var/lib/dpkg/status', { type: 'file', path: 'var/lib/dpkg/status', content: statusDatabase(packages) });
  systemEntries(entries);
  const epoch = options.sourceDateEpoch ?? 0;
  const layer = toLayerBlob(writeTar([...entries.values()], { mtimeSeconds: epoch }), options.compression ?? 'none');
  const names = packages.map((p) => `${p.name}=${p.version}`);
  const hasShell = ['usr/bin/sh', 'bin/sh'].some((p) => entries.has(p));
  const config = buildImageConfig({
    created: toCreated(epoch),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(hasShell ? { Cmd: ['/bin/sh'] } : {}),
      Labels: {
        'org.sealroom.base.packages': names.join(','),
        'org.sealroom.base.packages.source': 'host Debian packages, checked against dpkg md5sums',
      },
    },
    layers: [{ diffId: layer.diffId, createdBy: `sealroom import dpkg:${[...options.packages].sort().join(',')}` }],
  });
  const blobs = buildImageManifest(config, [layer]);
  return {
    digest: blobs.manifest.descriptor.digest,
    configDigest: blobs.config.descriptor.digest,
    manifest: blobs.manifest.bytes,
    config,
    layers: [layer],
    blobs,
    packages: names,
  };
}
