// The layer rule of docs/architecture.md, checked over every workspace's package.json and source imports.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';

/**
 * The layers, lowest first, by package name without the `@sealroom/` scope. A package may depend only on
 * packages of a lower layer; a dependency inside one layer or upwards needs an entry in EXCEPTIONS.
 * docs/architecture.md shows this table; the test below keeps the two the same.
 */
const LAYERS: readonly { readonly name: string; readonly packages: readonly string[] }[] = [
  { name: 'foundation', packages: ['core', 'formats'] },
  { name: 'building blocks', packages: ['attest', 'cel', 'outbound', 'postgres', 'transport', 'workload'] },
  { name: 'identity and launch', packages: ['iam', 'launcher'] },
  {
    name: 'services',
    packages: ['console', 'federation', 'kms', 'pubsub', 'registry', 'secrets', 'transparency', 'verifier'],
  },
  { name: 'supply chain and compute', packages: ['builder', 'compute'] },
  { name: 'server', packages: ['server'] },
  { name: 'cli', packages: ['cli'] },
  { name: 'examples', packages: ['example-wordcount'] },
];

type DependencyField = 'dependencies' | 'devDependencies';

/** The dependencies that break the rule on purpose, each with its reason. */
const EXCEPTIONS: readonly {
  readonly from: string;
  readonly to: string;
  readonly field: DependencyField;
  readonly why: string;
}[] = [
  {
    from: 'formats',
    to: 'core',
    field: 'dependencies',
    why: 'formats raises core’s catalogued errors; core never imports formats',
  },
  {
    from: 'transport',
    to: 'outbound',
    field: 'dependencies',
    why: 'the ServiceContext transport hands every service carries the deployment’s OutboundClient (a type import)',
  },
  {
    from: 'workload',
    to: 'transport',
    field: 'devDependencies',
    why: 'the TLS-binding test checks the SDK against the deployment TLS identity transport creates',
  },
  {
    from: 'launcher',
    to: 'verifier',
    field: 'devDependencies',
    why: 'the verifier integration test runs the launcher’s verifier client against a real verifier',
  },
];

const FIELDS: readonly (DependencyField | 'peerDependencies' | 'optionalDependencies')[] = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
];

const SCOPE = '@sealroom/';

interface Workspace {
  /** Name without the scope, as in LAYERS. */
  readonly name: string;
  /** Folder relative to the repository root. */
  readonly dir: string;
  readonly manifest: Record<string, unknown>;
}

function workspaces(root: string): Workspace[] {
  const out: Workspace[] = [];
  for (const top of ['packages', 'examples']) {
    for (const entry of readdirSync(join(root, top), { withFileTypes: true })) {
      const file = join(root, top, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const full = String(manifest.name);
      assert.ok(full.startsWith(SCOPE), `${top}/${entry.name}/package.json: name ${full} is outside ${SCOPE}`);
      out.push({ name: full.slice(SCOPE.length), dir: `${top}/${entry.name}`, manifest });
    }
  }
  return out;
}

/** The `@sealroom/*` names of one dependency field, without the scope. */
function internal(manifest: Record<string, unknown>, field: string): string[] {
  const deps = (manifest[field] ?? {}) as Record<string, string>;
  return Object.keys(deps)
    .filter((name) => name.startsWith(SCOPE))
    .map((name) => name.slice(SCOPE.length));
}

function layerOf(name: string): number {
  return LAYERS.findIndex((layer) => layer.packages.includes(name));
}

/** Every package.json dependency that breaks the layer table, as `from → to (field)` lines. */
function layerViolations(list: readonly Workspace[]): string[] {
  const found: string[] = [];
  for (const ws of list) {
    const from = layerOf(ws.name);
    if (from < 0) {
      found.push(`${ws.dir}: @sealroom/${ws.name} is in no layer (add it to LAYERS and docs/architecture.md)`);
      continue;
    }
    for (const field of FIELDS) {
      for (const dep of internal(ws.manifest, field)) {
        const to = layerOf(dep);
        if (to < 0) {
          found.push(`${ws.dir}: ${field} names @sealroom/${dep}, which is in no layer`);
          continue;
        }
        if (to < from) continue;
        if (EXCEPTIONS.some((e) => e.from === ws.name && e.to === dep && e.field === field)) continue;
        const where = to === from ? `its own layer (${LAYERS[to]?.name})` : `the higher layer ${LAYERS[to]?.name}`;
        found.push(`${ws.dir}: ${field} names @sealroom/${dep} of ${where}`);
      }
    }
  }
  return found;
}

/** An import of another module: static (`from '…'`, `import '…'`) or dynamic (`import('…')`). */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](@sealroom\/[\w.-]+)(?:\/[^'"]*)?['"]/g;

/** Test code may use devDependencies: the test files and the test support the raw-error guard names too. */
const TEST_CODE =
  /\.test(-util)?\.tsx?$|(^|\/)(testing|test-[\w-]+|[\w-]+-test-[\w-]+)\.ts$|(^|\/)testing\/|(^|\/)tamper-layouts\.ts$/;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Source imports against declared dependencies: production code imports only `dependencies`, test code
 * also `devDependencies`; every declared `@sealroom/*` dependency is imported somewhere.
 */
function importMismatches(root: string, list: readonly Workspace[]): string[] {
  const found: string[] = [];
  for (const ws of list) {
    const runtime = new Set([...internal(ws.manifest, 'dependencies'), ...internal(ws.manifest, 'peerDependencies')]);
    const dev = new Set(internal(ws.manifest, 'devDependencies'));
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, ws.dir))) {
      const path = relative(root, file).split('\\').join('/');
      const isTest = TEST_CODE.test(path);
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const dep = (match[1] as string).slice(SCOPE.length);
        if (dep === ws.name) continue;
        used.add(dep);
        if (runtime.has(dep)) continue;
        if (isTest && dev.has(dep)) continue;
        found.push(
          dev.has(dep)
            ? `${path}: production code imports @sealroom/${dep}, a devDependency of ${ws.dir}`
            : `${path}: imports @sealroom/${dep}, which ${ws.dir}/package.json does not declare`,
        );
      }
    }
    for (const dep of [...runtime, ...dev]) {
      if (!used.has(dep)) found.push(`${ws.dir}/package.json: declares @sealroom/${dep}, which nothing imports`);
    }
  }
  return found;
}

test('every workspace dependency goes to a lower layer, or is a named exception', () => {
  assert.deepEqual(layerViolations(workspaces(resolveRepoRoot())), []);
});

test('every exception of the layer table still happens', () => {
  const list = workspaces(resolveRepoRoot());
  const stale = EXCEPTIONS.filter((e) => {
    const ws = list.find((w) => w.name === e.from);
    return ws === undefined || !internal(ws.manifest, e.field).includes(e.to);
  }).map((e) => `${e.from} → ${e.to} (${e.field})`);
  assert.deepEqual(stale, [], 'remove the exceptions no package.json needs any more');
});

test('the layer check refuses an upward dependency, a same-layer one and a package in no layer', () => {
  const ws = (name: string, deps: Record<string, string>, devDeps: Record<string, string> = {}): Workspace => ({
    name,
    dir: `packages/${name}`,
    manifest: { name: `${SCOPE}${name}`, dependencies: deps, devDependencies: devDeps },
  });
  assert.deepEqual(
    layerViolations([
      ws('kms', { '@sealroom/secrets': '0.1.0', '@sealroom/iam': '0.1.0' }),
      ws('core', {}, { '@sealroom/server': '0.1.0' }),
      ws('launcher', { '@sealroom/verifier': '0.1.0' }),
      ws('novel', {}),
      ws('cli', { '@sealroom/server': '0.1.0', zod: '4' }),
    ]),
    [
      'packages/kms: dependencies names @sealroom/secrets of its own layer (services)',
      'packages/core: devDependencies names @sealroom/server of the higher layer server',
      'packages/launcher: dependencies names @sealroom/verifier of the higher layer services',
      'packages/novel: @sealroom/novel is in no layer (add it to LAYERS and docs/architecture.md)',
    ],
  );
});

test('source imports of @sealroom packages match the dependencies each package.json declares', () => {
  const root = resolveRepoRoot();
  assert.deepEqual(importMismatches(root, workspaces(root)), []);
});

test('docs/architecture.md shows the layer table of this test', () => {
  const doc = readFileSync(join(resolveRepoRoot(), 'docs', 'architecture.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => ({
    level: Number(m[1]),
    name: (m[2] as string).trim(),
    packages: [...(m[3] as string).matchAll(/`([\w-]+)`/g)].map((p) => p[1]),
  }));
  assert.deepEqual(
    rows,
    LAYERS.map((layer, level) => ({ level, name: layer.name, packages: [...layer.packages] })),
  );
  for (const e of EXCEPTIONS) assert.ok(doc.includes(`\`${e.from}\` → \`${e.to}\``), `${e.from} → ${e.to}`);
});

test('every repository path docs/architecture.md names exists', () => {
  const root = resolveRepoRoot();
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const paths = [...doc.matchAll(/`((?:packages|examples|scripts|test|docs)\/[\w./-]+)`/g)].map((m) => m[1] as string);
  assert.ok(paths.length > 50, `only ${paths.length} paths found: has the page lost its walks?`);
  assert.deepEqual(
    paths.filter((path) => !existsSync(join(root, path))),
    [],
    'a file moved: update its name in docs/architecture.md',
  );
});
