// The bubblewrap runtime: namespaces and a read-only root without an OCI runtime, when runc is missing.
import { LauncherError } from '../errors.ts';
import { captureStartupErrors, spawnChild } from './child.ts';
import { ensureMountPoints } from './mount-points.ts';
import { bwrapPlatformConfig, platformMounts } from './platform-mounts.ts';
import {
  CONTAINER_LAUNCHER_DIR,
  CONTAINER_PLATFORM_DIR,
  type ContainerConfig,
  type ContainerOutput,
  type ContainerRuntime,
  DEFAULT_DEV_SHM_SIZE_KB,
  type RunningContainer,
} from './types.ts';

export interface BwrapRuntimeOptions {
  readonly binary?: string;
}

/** The bwrap command line for a container (exported for tests and for the serial log). */
export function buildBwrapArgs(config: ContainerConfig, infoFd: number): string[] {
  const shmBytes = (config.devShmSizeKb > 0 ? config.devShmSizeKb : DEFAULT_DEV_SHM_SIZE_KB) * 1024;
  const args = ['--clearenv'];
  for (const entry of config.env) {
    const eq = entry.indexOf('=');
    args.push('--setenv', entry.slice(0, eq), entry.slice(eq + 1));
  }
  args.push(config.writableRootfs ? '--bind' : '--ro-bind', config.rootfs, '/', '--proc', '/proc', '--dev', '/dev');
  args.push('--size', String(shmBytes), '--tmpfs', '/dev/shm');
  args.push('--ro-bind', config.launcherDir, CONTAINER_LAUNCHER_DIR);
  for (const mount of platformMounts(config)) args.push('--ro-bind', mount.source, mount.destination);
  for (const mount of config.tmpfsMounts) {
    if (mount.sizeBytes !== undefined) args.push('--size', String(mount.sizeBytes));
    args.push('--tmpfs', mount.destination);
  }
  // Host network as with runc; the workload is pid 1 so it gets the SIGTERM itself.
  args.push('--unshare-all', '--share-net', '--die-with-parent', '--as-pid-1', '--new-session');
  args.push('--hostname', config.hostname, '--chdir', config.cwd, '--info-fd', String(infoFd));
  if (config.user && config.user.uid !== 0) {
    args.push('--unshare-user', '--uid', String(config.user.uid), '--gid', String(config.user.gid));
  }
  args.push('--', ...config.args);
  return args;
}

export function createBwrapRuntime(options: BwrapRuntimeOptions = {}): ContainerRuntime {
  const binary = options.binary ?? 'bwrap';
  return {
    kind: 'bwrap',
    start: async (given: ContainerConfig, output: ContainerOutput): Promise<RunningContainer> => {
      const config = await bwrapPlatformConfig(given);
      await ensureMountPoints(config.rootfs, [
        '/proc',
        '/dev',
        CONTAINER_LAUNCHER_DIR,
        ...(config.platformDir === undefined ? [] : [CONTAINER_PLATFORM_DIR]),
        ...config.tmpfsMounts.map((m) => m.destination),
      ]);
      // bwrap reports its own failure to exec the program as `bwrap: execvp …` after the pid is known.
      // bwrap writes that line in several pieces, so the head of stderr is kept and scanned at exit.
      let stderrHead = '';
      const startup = captureStartupErrors({
        stdout: (chunk) => output.stdout(chunk),
        stderr: (chunk) => {
          if (stderrHead.length < 4096) stderrHead += chunk.toString();
          output.stderr(chunk);
        },
      });
      const { child, exited } = await spawnChild(
        binary,
        buildBwrapArgs(config, 3),
        { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
        startup.output,
      );
      // bwrap writes {"child-pid": N} on the info fd once the workload process exists.
      const info = child.stdio[3];
      const childPid = await new Promise<number | undefined>((resolve) => {
        let data = '';
        info?.on('data', (c: Buffer) => {
          data += c.toString();
          const pid = parseChildPid(data);
          if (pid !== undefined) resolve(pid);
        });
        info?.on('close', () => resolve(parseChildPid(data)));
        if (!info) resolve(undefined);
      });
      if (childPid === undefined) {
        const exit = await exited;
        throw new LauncherError(
          'ERR_LAUNCHER_RUNTIME_START',
          `bwrap could not start the container (exit ${exit.exitCode}): ${startup.lastLine()}`,
        );
      }
      startup.done();
      return {
        exited: exited.then((exit) => {
          const execError = /^bwrap: execvp.*$/m.exec(stderrHead)?.[0];
          if (execError) throw new LauncherError('ERR_LAUNCHER_RUNTIME_START', execError.slice(0, 300));
          return exit;
        }),
        signal: async (signal) => {
          try {
            process.kill(childPid, signal);
          } catch {
            // already gone
          }
        },
      };
    },
  };
}

function parseChildPid(text: string): number | undefined {
  try {
    const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
