// The last-resort runtime: a plain child process with no isolation, for hosts without runc or bwrap (dev only).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild } from './child.ts';
import { startReaper } from './reaper.ts';
import {
  CONTAINER_PLATFORM_DIR,
  type ContainerConfig,
  type ContainerOutput,
  type ContainerRuntime,
  type RunningContainer,
} from './types.ts';

/**
 * Env var naming the launcher's directory for a workload that runs as a plain process: there is no
 * mount namespace to put it at /run/container_launcher. `@sealroom/workload` honours it.
 */
export const LAUNCHER_DIR_ENV = 'SEALROOM_CONTAINER_LAUNCHER_DIR';

/** Env var naming the platform directory (endpoints.json, ca.pem) for a workload that runs as a plain process. */
export const PLATFORM_DIR_ENV = 'SEALROOM_PLATFORM_DIR';

export function createProcessRuntime(): ContainerRuntime {
  return {
    kind: 'process',
    start: async (config: ContainerConfig, output: ContainerOutput): Promise<RunningContainer> => {
      const [program = '', ...rest] = config.args;
      // A program inside the unpacked image (a static binary, a script with a host interpreter) runs from there.
      const inImage = program.startsWith('/') ? join(config.rootfs, program) : undefined;
      const command = inImage && existsSync(inImage) ? inImage : program;
      const cwdInImage = join(config.rootfs, config.cwd);
      const env = Object.fromEntries(
        config.env.map((entry) => {
          const eq = entry.indexOf('=');
          return [entry.slice(0, eq), entry.slice(eq + 1)];
        }),
      );
      env[LAUNCHER_DIR_ENV] = config.launcherDir;
      // No mount namespace: paths under /run/sealroom name the platform directory on the host instead.
      if (config.platformDir !== undefined) {
        env[PLATFORM_DIR_ENV] = config.platformDir;
        for (const [name, value] of Object.entries(env))
          if (value?.startsWith(`${CONTAINER_PLATFORM_DIR}/`))
            env[name] = join(config.platformDir, value.slice(CONTAINER_PLATFORM_DIR.length + 1));
      }
      const { child, exited } = await spawnChild(
        command,
        rest,
        { cwd: existsSync(cwdInImage) ? cwdInImage : config.rootfs, env, detached: true },
        output,
      );
      // The workload leads its own process group: if the launcher dies, the watchdog kills the whole group.
      const reaper = child.pid === undefined ? undefined : startReaper(`kill -KILL -${child.pid}`);
      return {
        exited: exited.then((exit) => {
          reaper?.release();
          return exit;
        }),
        signal: async (signal) => {
          try {
            // The whole process group: the workload's own children go with it.
            if (child.pid !== undefined) process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        },
      };
    },
  };
}
