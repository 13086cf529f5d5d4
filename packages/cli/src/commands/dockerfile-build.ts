// `sealroom build` of a Dockerfile: build args, the base repository FROM resolves against, the build
// cache, and progress as a step bar on a terminal or plain lines elsewhere.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BuildProgress,
  type BuiltImage,
  buildDockerfileImage,
  type Compression,
  defaultBuildCacheDir,
  registryBaseImages,
} from '@sealroom/builder';
import type { ImageReference } from '@sealroom/registry';
import type { CommandContext, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { registryClientFor } from './supply-chain-helpers.ts';

export const DOCKERFILE_FLAGS: Readonly<Record<string, FlagSpec>> = {
  file: { type: 'string', description: 'Dockerfile to build (default DIR/Dockerfile; DIR is the build context).' },
  'build-arg': { type: 'string', description: 'NAME=VALUE for an ARG of the Dockerfile.', multiple: true },
  target: { type: 'string', description: 'Build this stage of a multi-stage Dockerfile (default the last).' },
  'base-repository': {
    type: 'string',
    description:
      'HOST/PROJECT/REPOSITORY that FROM images are found in (default the --tag repository); fill it with `artifacts docker images import`.',
  },
  cache: {
    type: 'boolean',
    description: 'Reuse the result of an identical earlier build (default true; --no-cache rebuilds from scratch).',
  },
  'cache-dir': { type: 'string', description: 'Build cache folder (default $XDG_CACHE_HOME/sealroom/build).' },
  'storage-driver': {
    type: 'string',
    description: "Engine storage: 'auto' (default: overlay where it mounts), 'overlay' or 'vfs'.",
  },
};

/** `sealroom build DIR` builds a Dockerfile with --file, or when DIR has a Dockerfile and no sealroom.build.json. */
export function wantsDockerfile(ctx: CommandContext, dir: string): boolean {
  if (ctx.flags.file !== undefined) return true;
  return existsSync(join(dir, 'Dockerfile')) && !existsSync(join(dir, 'sealroom.build.json'));
}

function parseBuildArgs(values: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--build-arg takes NAME=VALUE, got [${kv}].`);
    args[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return args;
}

function parseRepository(text: string): { registry: string; repository: string } {
  const parts = text.replace(/\/+$/, '').split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new UsageError(`--base-repository takes HOST:PORT/PROJECT/REPOSITORY, got [${text}].`);
  }
  return { registry: parts[0] as string, repository: `${parts[1]}/${parts[2]}` };
}

/** One line per event; on a terminal the engine's steps draw a bar over the steps of every stage. */
function progressPrinter(ctx: CommandContext): (event: BuildProgress) => void {
  return (event) => {
    if (event.phase === 'engine' && event.step) {
      const s = event.step;
      const stage = s.stages > 1 ? `[${s.stage}/${s.stages}] ` : '';
      const overall = event.overall;
      const bar =
        overall === undefined || !ctx.interactive
          ? ''
          : `[${'#'.repeat(Math.round((overall.done / overall.total) * 20)).padEnd(20, '.')}] ${overall.done}/${overall.total} `;
      ctx.progress(`${bar}${stage}STEP ${s.step}/${s.steps}: ${s.text}`);
      return;
    }
    ctx.progress(event.phase === 'note' ? `note: ${event.message}` : event.message, event.phase === 'done');
  };
}

export async function runDockerfileBuild(
  ctx: CommandContext,
  dir: string,
  ref: ImageReference | undefined,
  common: { readonly sourceDateEpoch?: number; readonly compression?: Compression },
): Promise<BuiltImage> {
  for (const flag of ['config', 'base', 'node-binary']) {
    if (ctx.flags[flag] !== undefined)
      throw new UsageError(`--${flag} is for Node.js builds; this is a Dockerfile build.`);
  }
  const repositoryText =
    (ctx.flags['base-repository'] as string | undefined) ??
    (ref === undefined ? undefined : `${ref.registry}/${ref.repository.split('/').slice(0, 2).join('/')}`);
  const driver = (ctx.flags['storage-driver'] as string | undefined) ?? 'auto';
  if (!['auto', 'overlay', 'vfs'].includes(driver))
    throw new UsageError("--storage-driver is 'auto', 'overlay' or 'vfs'.");
  let bases: ReturnType<typeof registryBaseImages> | undefined;
  if (repositoryText !== undefined) {
    const location = parseRepository(repositoryText);
    const client = await registryClientFor(ctx, { registry: location.registry, repository: location.repository });
    bases = registryBaseImages({ client, ...location });
  }
  const file = ctx.flags.file as string | undefined;
  const target = ctx.flags.target as string | undefined;
  return buildDockerfileImage({
    dir,
    ...(file === undefined ? {} : { dockerfile: resolve(file) }),
    buildArgs: parseBuildArgs((ctx.flags['build-arg'] as string[] | undefined) ?? []),
    ...(target === undefined ? {} : { target }),
    ...(common.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: common.sourceDateEpoch }),
    ...(common.compression === undefined ? {} : { compression: common.compression }),
    ...(bases === undefined ? {} : { bases }),
    cacheDir: resolve((ctx.flags['cache-dir'] as string | undefined) ?? defaultBuildCacheDir(ctx.env)),
    noCache: ctx.flags.cache === false,
    storageDriver: driver as 'auto' | 'overlay' | 'vfs',
    onProgress: progressPrinter(ctx),
  });
}
