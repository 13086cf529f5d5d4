// `sealroom build` of a Dockerfile: pins the bases by digest, stages a normalised context, lets buildah
// build it offline, then re-packs what the build added with the project's tar writer and writes a
// canonical config, so the same source gives the same digest on any machine, at any time, under any umask.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { computeDigest, type Descriptor, type OciLayout, openOciLayout } from '@sealroom/formats';
import type { BuiltImage } from '../build.ts';
import { writeImageToLayout } from '../build.ts';
import { BuilderError } from '../errors.ts';
import { type Compression, describeCompressor } from '../layer.ts';
import type { SbomComponent } from '../sbom.ts';
import type { BaseImageSource, ResolvedBase } from './bases.ts';
import { detectEngine, detectStorageDriver, type EngineStep, runEngineBuild, type StorageDriver } from './buildah.ts';
import { type BuildCache, openBuildCache } from './cache.ts';
import { toCanonicalImage } from './canonical.ts';
import { readBuildContext, stageBuildContext } from './context.ts';
import { explainEngineFailure } from './explain.ts';
import { findImagePackages } from './packages.ts';
import {
  type DockerfileStage,
  findStep,
  type ImageUse,
  neededStages,
  type ParsedDockerfile,
  parseDockerfile,
  rewriteImages,
} from './parse.ts';

/** Bumped whenever the canonical form changes, so cached results of an older form are not reused. */
const CANONICAL_FORM = 'sealroom-dockerfile/2';
export const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60 * 1000;

export interface BuildProgress {
  readonly phase: 'resolve' | 'context' | 'cache' | 'engine' | 'repack' | 'done' | 'note';
  readonly message: string;
  /** Engine steps: stage s of S, step n of N. */
  readonly step?: EngineStep;
  /** Steps started so far of all the steps the needed stages have. */
  readonly overall?: { readonly done: number; readonly total: number };
}

export interface DockerfileBuildOptions {
  /** The build context. */
  readonly dir: string;
  /** Default `DIR/Dockerfile`. */
  readonly dockerfile?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  /** Default: the time of the last git commit of DIR, else 0. */
  readonly sourceDateEpoch?: number;
  readonly compression?: Compression;
  /** Where FROM images come from; needed unless every stage is FROM scratch. */
  readonly bases?: BaseImageSource;
  /** Results and blobs of earlier builds (default `$XDG_CACHE_HOME/sealroom/build`). */
  readonly cacheDir?: string;
  /** Rebuild from scratch even when a cached result matches (the rebuild check). */
  readonly noCache?: boolean;
  readonly storageDriver?: StorageDriver | 'auto';
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: BuildProgress) => void;
  readonly layoutDir?: string;
  readonly tag?: string;
}

export interface BaseUse {
  /** 1-based Dockerfile line of the FROM or COPY --from. */
  readonly line: number;
  readonly instruction: 'FROM' | 'COPY --from';
  /** As written, and after ARG expansion. */
  readonly raw: string;
  readonly reference: string;
  readonly name: string;
  readonly digest: string;
  readonly indexDigest?: string;
}

export interface DockerfileBuildInputs {
  readonly kind: 'dockerfile';
  /** Digest of the build context (what `.dockerignore` keeps, modes normalised). */
  readonly sourceDigest: string;
  readonly dockerfile: { readonly path: string; readonly digest: string };
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly bases: readonly BaseUse[];
  readonly engine: {
    readonly name: string;
    readonly version: string;
    readonly isolation: 'chroot';
    readonly network: 'none';
    readonly storageDriver: StorageDriver;
  };
  readonly compressor: string;
  readonly sourceDateEpoch: number;
  readonly components: readonly SbomComponent[];
  readonly app: { readonly name: string; readonly version: string };
}

/** SOURCE_DATE_EPOCH from the source: the committer time of the last commit of `dir`, when it is in git. */
export function readCommitEpoch(dir: string): number | undefined {
  try {
    const text = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%ct'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

export function defaultBuildCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sealroom', 'build');
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

async function resolveBases(
  uses: readonly ImageUse[],
  bases: BaseImageSource | undefined,
): Promise<Map<ImageUse, ResolvedBase>> {
  const resolved = new Map<ImageUse, ResolvedBase>();
  const byReference = new Map<string, ResolvedBase>();
  for (const use of uses) {
    const at = `Dockerfile line ${use.instruction.line}: ${use.kind === 'from' ? 'FROM' : 'COPY --from'} ${use.reference}`;
    if (!bases) {
      throw new BuilderError(
        'ERR_BUILDER_BASE_IMAGE',
        `${at}: no base repository to find it in (give --base-repository HOST/PROJECT/REPOSITORY, or --tag).`,
      );
    }
    const mapped = bases.toName(use.reference);
    if ('error' in mapped) throw new BuilderError('ERR_BUILDER_BASE_IMAGE', `${at}: ${mapped.error}.`);
    const found = byReference.get(use.reference) ?? (await bases.resolve(use.reference));
    if (!found) {
      const where = `${bases.location.split('/')[0]}/${mapped.name}`;
      throw new BuilderError(
        'ERR_BUILDER_BASE_IMAGE',
        `${at}: there is no ${where}:${mapped.reference.startsWith('sha256:') ? '' : mapped.reference}${mapped.reference.startsWith('sha256:') ? `@${mapped.reference}` : ''}. ` +
          `Import it first: sealroom artifacts docker images import SOURCE ${where}${mapped.reference.startsWith('sha256:') ? '' : `:${mapped.reference}`}`,
      );
    }
    byReference.set(use.reference, found);
    resolved.set(use, found);
  }
  return resolved;
}

function toBaseUses(resolved: Map<ImageUse, ResolvedBase>): BaseUse[] {
  return [...resolved].map(([use, base]) => ({
    line: use.instruction.line,
    instruction: use.kind === 'from' ? 'FROM' : 'COPY --from',
    raw: use.raw,
    reference: use.reference,
    name: base.name,
    digest: base.digest,
    ...(base.indexDigest === undefined ? {} : { indexDigest: base.indexDigest }),
  }));
}

/** Builds the Dockerfile in `dir`; see the file comment for what makes the result reproducible. */
export async function buildDockerfileImage(options: DockerfileBuildOptions): Promise<BuiltImage> {
  const progress = options.onProgress ?? (() => {});
  const dir = resolve(options.dir);
  const dockerfilePath = resolve(options.dockerfile ?? join(dir, 'Dockerfile'));
  if (!existsSync(dockerfilePath)) {
    throw new BuilderError('ERR_BUILDER_DOCKERFILE', `There is no Dockerfile at '${dockerfilePath}'.`);
  }
  const dockerfileBytes = readFileSync(dockerfilePath);
  const buildArgs = { ...options.buildArgs };
  const parsed = parseDockerfile(dockerfileBytes.toString('utf8'), buildArgs);
  const stages = new Set(neededStages(parsed, options.target));
  const uses = parsed.images.filter((use) => stages.has(use.stage));
  const epoch = options.sourceDateEpoch ?? readCommitEpoch(dir) ?? 0;
  const compression = options.compression ?? 'gzip';
  const timeoutMs = options.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;

  progress({ phase: 'resolve', message: `Resolving ${uses.length} base image reference(s)` });
  const resolved = await resolveBases(uses, options.bases);
  const engine = await detectEngine();
  progress({ phase: 'context', message: 'Reading the build context' });
  // BuildKit's rule: `<Dockerfile>.dockerignore` next to the Dockerfile wins over the context's own.
  const ownIgnore = `${dockerfilePath}.dockerignore`;
  const context = readBuildContext(dir, existsSync(ownIgnore) ? ownIgnore : undefined);
  const relativeDockerfile = relative(dir, dockerfilePath);
  const dockerfileName = relativeDockerfile.startsWith('..') ? basename(dockerfilePath) : relativeDockerfile;
  const baseUses = toBaseUses(resolved);
  const key = sha256(
    JSON.stringify([
      CANONICAL_FORM,
      engine.version,
      sha256(dockerfileBytes),
      Object.entries(buildArgs).sort(([a], [b]) => (a < b ? -1 : 1)),
      options.target ?? null,
      baseUses.map((b) => [b.reference, b.digest]),
      context.digest,
      epoch,
      describeCompressor(compression),
    ]),
  );
  const cache = await openBuildCache(options.cacheDir ?? defaultBuildCacheDir());
  if (!options.noCache) {
    const found = await cache.load(key);
    if (found) {
      // Same content; where the bases were found this time is what provenance should name.
      const cached = { ...found, inputs: { ...(found.inputs as DockerfileBuildInputs), bases: baseUses } };
      progress({ phase: 'cache', message: `Reusing the result of an identical earlier build: ${cached.digest}` });
      if (options.layoutDir !== undefined) await writeImageToLayout(cached, options.layoutDir, options.tag);
      return cached;
    }
  }
  const image = await buildFresh({
    options,
    parsed,
    resolved,
    baseUses,
    context,
    engineVersion: engine.version,
    epoch,
    compression,
    timeoutMs,
    cache,
    dockerfile: { path: dockerfileName, digest: computeDigest(dockerfileBytes) },
    buildArgs,
    progress,
    totalSteps: parsed.stages.filter((s) => stages.has(s.index)).reduce((n, s) => n + s.instructions.length, 0),
  });
  await cache.store(key, image);
  if (options.layoutDir !== undefined) await writeImageToLayout(image, options.layoutDir, options.tag);
  progress({ phase: 'done', message: `Built ${image.digest}` });
  return image;
}

interface FreshBuild {
  readonly options: DockerfileBuildOptions;
  readonly parsed: ReturnType<typeof parseDockerfile>;
  readonly resolved: Map<ImageUse, ResolvedBase>;
  readonly baseUses: readonly BaseUse[];
  readonly context: ReturnType<typeof readBuildContext>;
  readonly engineVersion: string;
  readonly epoch: number;
  readonly compression: Compression;
  readonly timeoutMs: number;
  readonly cache: BuildCache;
  readonly dockerfile: { readonly path: string; readonly digest: string };
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly progress: (event: BuildProgress) => void;
  /** Instructions of the stages the target needs (what a progress bar counts). */
  readonly totalSteps: number;
}

/**
 * The build's private folder. Its path becomes part of `oci:PATH:REF` references, which the engine
 * also reads as image names, so it may only hold lower-case name characters.
 */
function makeWorkDir(): string {
  const root = /^[a-z0-9/._-]+$/.test(tmpdir()) ? tmpdir() : '/var/tmp';
  const dir = join(root, `sealroom-build-${randomBytes(8).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

async function buildFresh(b: FreshBuild): Promise<BuiltImage> {
  const work = makeWorkDir();
  try {
    const storageDriver =
      b.options.storageDriver === undefined || b.options.storageDriver === 'auto'
        ? await detectStorageDriver()
        : b.options.storageDriver;
    const basesDir = join(work, 'bases');
    const layout = await openOciLayout(basesDir, { create: true });
    const local = new Map<string, { ref: string; descriptor: Descriptor; base: ResolvedBase }>();
    for (const base of b.resolved.values()) {
      if (local.has(base.digest)) continue;
      const descriptor = await (b.options.bases as BaseImageSource).copyTo(base, layout, b.cache.blobs);
      const ref = `base-${local.size}`;
      await layout.addManifest(descriptor, ref);
      local.set(base.digest, { ref, descriptor, base });
    }
    const localRef = (use: ImageUse) => {
      const base = b.resolved.get(use);
      return base === undefined ? undefined : `oci:${basesDir}:${local.get(base.digest)?.ref}`;
    };
    const dockerfilePath = join(work, 'Dockerfile');
    writeFileSync(dockerfilePath, rewriteImages(b.parsed, localRef));
    b.progress({ phase: 'context', message: `Staging the build context (${b.context.entries.length} entries)` });
    const contextDir = join(work, 'context');
    stageBuildContext(b.context, contextDir, b.epoch);
    const outputLayout = join(work, 'out');
    let done = 0;
    const failure = await runEngineBuild({
      workDir: join(work, 'engine'),
      contextDir,
      dockerfilePath,
      buildArgs: { SOURCE_DATE_EPOCH: String(b.epoch), ...b.buildArgs },
      ...(b.options.target === undefined ? {} : { target: b.options.target }),
      epochSeconds: b.epoch,
      storageDriver,
      outputLayout,
      timeoutMs: b.timeoutMs,
      ...(b.options.signal === undefined ? {} : { signal: b.options.signal }),
      onStep: (engineStep) => {
        done = Math.min(done + 1, b.totalSteps);
        // The author's instruction, not the rewritten one (whose FROM names a private layout).
        const ins = findStep(b.parsed, engineStep.stage, engineStep.step);
        const step = ins ? { ...engineStep, text: `${ins.keyword} ${ins.args}` } : engineStep;
        b.progress({ phase: 'engine', message: step.text, step, overall: { done, total: b.totalSteps } });
      },
      onNote: (text) => b.progress({ phase: 'note', message: text }),
    });
    if (failure) {
      const replacements: [string, string][] = [[contextDir, b.context.dir]];
      for (const { ref } of local.values()) {
        const use = [...b.resolved].find(([, base]) => local.get(base.digest)?.ref === ref)?.[0];
        if (use) replacements.push([`oci:${basesDir}:${ref}`, use.reference]);
      }
      replacements.push([work, '<build>']);
      throw explainEngineFailure(failure, { parsed: b.parsed, replacements, timeoutMs: b.timeoutMs });
    }
    b.progress({ phase: 'repack', message: 'Re-packing the layers the build added' });
    return await canonicalise(b, outputLayout, layout, [...local.values()], storageDriver);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The instructions of the target stage and of the stages it builds on (FROM an earlier stage), root
 * first, without the FROM lines: what the engine ran on top of the final image's base.
 */
function finalStageSteps(parsed: ParsedDockerfile, target: string | undefined): string[] {
  const chain: DockerfileStage[] = [];
  let stage: DockerfileStage | undefined = parsed.stages[neededStages(parsed, target).at(-1) as number];
  while (stage) {
    chain.unshift(stage);
    stage = stage.base.kind === 'stage' ? parsed.stages[stage.base.stage] : undefined;
  }
  return chain.flatMap((s) => s.instructions.slice(1).map((ins) => `${ins.keyword} ${ins.args}`.trim()));
}

async function canonicalise(
  b: FreshBuild,
  outputDir: string,
  basesLayout: OciLayout,
  local: readonly { descriptor: Descriptor; base: ResolvedBase }[],
  storageDriver: StorageDriver,
): Promise<BuiltImage> {
  const result = await toCanonicalImage({
    outputLayout: await openOciLayout(outputDir),
    basesLayout,
    bases: local.map((l) => ({ digest: l.base.digest, manifest: l.descriptor.digest })),
    epochSeconds: b.epoch,
    compression: b.compression,
    steps: finalStageSteps(b.parsed, b.options.target),
  });
  const labels = result.config.config?.Labels ?? {};
  return {
    digest: result.blobs.manifest.descriptor.digest,
    configDigest: result.blobs.config.descriptor.digest,
    manifest: result.blobs.manifest.bytes,
    config: result.config,
    layers: result.layers,
    blobs: result.blobs,
    inputs: {
      kind: 'dockerfile',
      sourceDigest: b.context.digest,
      dockerfile: b.dockerfile,
      buildArgs: b.buildArgs,
      ...(b.options.target === undefined ? {} : { target: b.options.target }),
      bases: b.baseUses,
      engine: { name: 'buildah', version: b.engineVersion, isolation: 'chroot', network: 'none', storageDriver },
      compressor: describeCompressor(b.compression),
      sourceDateEpoch: b.epoch,
      components: findImagePackages(result.filesystem),
      app: {
        name: labels['org.opencontainers.image.title'] ?? b.dockerfile.path,
        version: labels['org.opencontainers.image.version'] ?? '0.0.0',
      },
    },
  };
}
