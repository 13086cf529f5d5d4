// `sealroom launcher` composed with this deployment's registry client: the program the host agents start for each
// boot (launcher-entry.ts) and the CLI command run by hand.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@sealroom/core';
import {
  type LauncherChannel,
  type LauncherFlags,
  type LauncherProgramDeps,
  runLauncherProgram,
} from '@sealroom/launcher';
import { createRegistryImageSource, discoverSignatures } from './registry-images.ts';

/**
 * The file the host agent runs (on its own Node.js) as `sealroom launcher`: resolved through the package, so a
 * bundled `sealroom` (whose module URL is the bundle's) finds it too.
 */
export const LAUNCHER_ENTRY = fileURLToPath(resolveEntry());

function resolveEntry(): string {
  try {
    return import.meta.resolve('@sealroom/compute/launcher-entry');
  } catch {
    return new URL('./launcher-entry.ts', import.meta.url).href;
  }
}

/**
 * What the host agent starts for a boot: the launcher's bundle (`packages/compute/dist/`, built by `npm ci`, see
 * scripts/build-start.ts) while every source it was built from is older than it, else LAUNCHER_ENTRY. The bundle
 * starts in about a third of the CPU time: no type stripping, a few files instead of ~250; a boot waits for it.
 */
export function launcherProgram(): string {
  const dist = join(dirname(dirname(LAUNCHER_ENTRY)), 'dist');
  try {
    const { builtAt, files } = JSON.parse(readFileSync(join(dist, 'inputs.json'), 'utf8')) as {
      builtAt: number;
      files: string[];
    };
    for (const file of files) if (statSync(join(dist, file)).mtimeMs > builtAt) return LAUNCHER_ENTRY;
    return join(dist, 'launcher-entry.mjs');
  } catch {
    return LAUNCHER_ENTRY; // not built, or a source is gone
  }
}

export function launcherDeps(logger: Logger, overrides: Partial<LauncherProgramDeps> = {}): LauncherProgramDeps {
  return {
    registry: (access) => {
      const options = {
        baseUrl: access.baseUrl,
        accessToken: access.accessToken,
        outbound: access.outbound,
        serviceAccountEmail: access.serviceAccountEmail,
      };
      return {
        images: createRegistryImageSource({
          ...options,
          cacheDir: access.cacheDir,
          shareRootfs: access.shareRootfs,
          instanceDir: access.instanceDir,
          onEvicted: (digest) =>
            access.serial(`sealroom: image cache: blob ${digest} did not match its digest; removed and pulled again`),
          onTreeChanged: (digest) =>
            access.serial(`sealroom: image cache: the unpacked tree of ${digest} changed on the host; unpacked again`),
        }),
        signatures: (repos, digest) => discoverSignatures(repos, digest, options),
      };
    },
    logger,
    ...overrides,
  };
}

/** `sealroom launcher` with these flags, to its exit code (on the channel a spare opened, if it is one). */
export function runLauncher(flags: LauncherFlags, logger: Logger, channel?: LauncherChannel): Promise<number> {
  return runLauncherProgram(flags, launcherDeps(logger), channel);
}
