// The runc runtime: an OCI bundle over the unpacked image, run in the foreground so its exit status is the workload's.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LauncherError } from '../errors.ts';
import { cgroupPathOf, cgroupProcsFiles, readMemoryUsage, readOomKills } from './cgroup.ts';
import { captureStartupErrors, runCommand, spawnChild } from './child.ts';
import { shellQuote, startReaper } from './reaper.ts';
import { type RuncSpecOptions, buildRuncSpec } from './runc-spec.ts';
import type { ContainerConfig, ContainerOutput, ContainerRuntime, RunningContainer } from './types.ts';

export interface RuncRuntimeOptions extends RuncSpecOptions {
  /** The runc binary (default `runc` on PATH). */
  readonly binary?: string;
}

export function createRuncRuntime(options: RuncRuntimeOptions = {}): ContainerRuntime {
  const binary = options.binary ?? 'runc';
  return {
    kind: 'runc',
    start: async (config: ContainerConfig, output: ContainerOutput): Promise<RunningContainer> => {
      const bundle = join(config.workDir, 'bundles', config.id);
      const root = join(config.workDir, 'runc');
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      await mkdir(root, { recursive: true, mode: 0o700 });
      const hostLimit = await readNofileHardLimit();
      const spec = buildRuncSpec(
        config,
        hostLimit === undefined ? options : { ...options, hostNofileHardLimit: hostLimit },
      );
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      const pidFile = join(bundle, 'pid');
      const startup = captureStartupErrors(output);
      // The watchdog exists before runc does: a launcher killed while the container starts leaves nothing.
      // runc deletes the container; if its state is gone too, every process left in its cgroup is killed.
      const procs = cgroupProcsFiles(cgroupPathOf(config.id)).map(shellQuote).join(' ');
      const reaper = startReaper(
        `${[binary, '--root', root, 'delete', '--force', config.id].map(shellQuote).join(' ')} || ` +
          `for p in $(cat ${procs} 2>/dev/null); do kill -KILL "$p"; done`,
      );
      const { exited } = await spawnChild(
        binary,
        // --keep: the stopped container (and its cgroup) stays until deleted, so its OOM count can be read.
        ['--root', root, 'run', '--keep', '--bundle', bundle, '--pid-file', pidFile, config.id],
        { cwd: bundle },
        startup.output,
      ).catch((error: unknown) => {
        reaper.release();
        throw error;
      });
      // runc writes the pid file once the workload process exists: an exit before that is a start failure.
      let ended = false;
      void exited.then(() => (ended = true));
      const started = await waitForFile(pidFile, () => ended);
      if (!started) {
        const exit = await exited;
        await runCommand(binary, ['--root', root, 'delete', '--force', config.id]);
        reaper.release();
        await rm(bundle, { recursive: true, force: true });
        throw new LauncherError(
          'ERR_LAUNCHER_RUNTIME_START',
          `runc could not start the container (exit ${exit.exitCode}): ${startup.lastLine()}`,
        );
      }
      startup.done();
      const cgroup = cgroupPathOf(config.id);
      const cleaned = exited.then(async (exit) => {
        const oomKills = await readOomKills(cgroup);
        await runCommand(binary, ['--root', root, 'delete', '--force', config.id]);
        reaper.release();
        await rm(bundle, { recursive: true, force: true });
        return oomKills !== undefined && oomKills > 0 ? { ...exit, outOfMemory: true } : exit;
      });
      return {
        exited: cleaned,
        memoryUsageBytes: () => readMemoryUsage(cgroup),
        signal: async (signal) => {
          const result = await runCommand(binary, ['--root', root, 'kill', config.id, signal.replace(/^SIG/, '')]);
          // A container that already stopped has nothing left to signal.
          if (result.code !== 0 && !/not running|does not exist|container not running/i.test(result.stderr)) {
            throw new LauncherError(
              'ERR_LAUNCHER_RUNTIME_START',
              `runc kill ${signal} failed: ${result.stderr.trim()}`,
            );
          }
        },
      };
    },
  };
}

/** Polls until the file has content (true) or `gaveUp` says to stop (false). */
async function waitForFile(path: string, gaveUp: () => boolean): Promise<boolean> {
  const written = () =>
    readFile(path, 'utf8').then(
      (text) => text.trim() !== '',
      () => false,
    );
  for (;;) {
    // Read once more after the exit: a quick workload may have run and ended between two polls.
    if (gaveUp()) return written();
    if (await written()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The hard `Max open files` of this process, from /proc/self/limits (undefined when unreadable). */
async function readNofileHardLimit(): Promise<number | undefined> {
  try {
    const line = (await readFile('/proc/self/limits', 'utf8')).split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
  } catch {
    return undefined;
  }
}
