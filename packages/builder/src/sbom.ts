// A deterministic CycloneDX 1.5 SBOM (no serialNumber, no timestamp): the npm packages esbuild bundled,
// or the packages found in a Dockerfile-built image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';

export interface SbomComponent {
  readonly name: string;
  readonly version: string;
  readonly purl: string;
  readonly license?: string;
  /** Hex SHA-512 from the lockfile's `integrity`, when the lockfile has it. */
  readonly sha512?: string;
}

/** `node_modules/@scope/name/x.js` and nested `node_modules/a/node_modules/b/…` → the package directory. */
export function toPackageDirs(inputs: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) dirs.add(match[1]);
  }
  return [...dirs].sort();
}

export function toPurl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
}

/** Reads each bundled package's package.json and the source's package-lock.json (lockfile v3). */
export function collectComponents(dir: string, inputs: readonly string[]): SbomComponent[] {
  const lockPath = join(dir, 'package-lock.json');
  const lock = existsSync(lockPath)
    ? ((JSON.parse(readFileSync(lockPath, 'utf8')) as { packages?: Record<string, { integrity?: string }> }).packages ??
      {})
    : {};
  const byPurl = new Map<string, SbomComponent>();
  for (const pkgDir of toPackageDirs(inputs)) {
    const pkgJsonPath = join(dir, pkgDir, 'package.json');
    if (!existsSync(pkgJsonPath)) continue;
    const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { name?: string; version?: string; license?: unknown };
    if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') continue;
    const integrity = lock[pkgDir.replace(/^(\.\.\/)+/, '')]?.integrity;
    const sha512 = integrity?.startsWith('sha512-')
      ? Buffer.from(integrity.slice(7), 'base64').toString('hex')
      : undefined;
    const purl = toPurl(pkg.name, pkg.version);
    byPurl.set(purl, {
      name: pkg.name,
      version: pkg.version,
      purl,
      ...(typeof pkg.license === 'string' ? { license: pkg.license } : {}),
      ...(sha512 === undefined ? {} : { sha512 }),
    });
  }
  return [...byPurl.values()].sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
}

export function buildCycloneDxSbom(
  app: { readonly name: string; readonly version: string },
  components: readonly SbomComponent[],
  kind: 'application' | 'container' = 'application',
) {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      tools: [{ vendor: 'Sealroom', name: 'sealroom build' }],
      component: { type: kind, 'bom-ref': `${app.name}@${app.version}`, name: app.name, version: app.version },
    },
    components: components.map((c) => ({
      type: 'library',
      'bom-ref': `${c.name}@${c.version}`,
      name: c.name,
      version: c.version,
      purl: c.purl,
      ...(c.sha512 === undefined ? {} : { hashes: [{ alg: 'SHA-512', content: c.sha512 }] }),
      ...(c.license === undefined ? {} : { licenses: [{ expression: c.license }] }),
    })),
  };
}
