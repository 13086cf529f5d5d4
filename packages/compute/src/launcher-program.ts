// `sealroom launcher` composed with this deployment's registry client: the program the host agents start for each
// boot (launcher-entry.ts) and the CLI command run by hand.
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
