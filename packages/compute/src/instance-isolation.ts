// What the host agent keeps around each boot: the log stream's permission, and the clean-up of containers and
// disks a previous run (of the server, or of a launcher that was killed) left behind. The disk and the memory
// limit themselves are the launcher's (packages/launcher/src/init/boot.ts).
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Logger } from '@sealroom/core';
import { cgroupPathOf, cgroupProcsFiles } from '@sealroom/launcher';
import type { BootRequest, InstanceEvents } from './host-agent.ts';

/**
 * The instance's log stream (Cloud Logging), open only when its service account may write log entries:
 * otherwise the serial output says so once and no entry is written, as on Google Cloud.
 */
export function gateLogStream(
  request: Pick<BootRequest, 'canWriteLogs' | 'serviceAccountEmail'>,
  events: Pick<InstanceEvents, 'serial' | 'workloadLog'>,
): InstanceEvents['workloadLog'] {
  if (request.canWriteLogs !== false) return (entry) => events.workloadLog(entry);
  let said = false;
  return () => {
    if (said) return;
    said = true;
    events.serial(
      `sealroom: no log entries written: the service account ${request.serviceAccountEmail} lacks logging.logEntries.create (grant it roles/logging.logWriter)`,
    );
  };
}

function run(command: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', timeout: 30_000 });
    child.once('error', () => resolve(null));
    child.once('close', (code) => resolve(code));
  });
}

/** Directories directly under `dir` (none when it does not exist). */
async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/**
 * Stops whatever a previous run of this server left running under its directory (a crash, a SIGKILL):
 * every runc container of every instance is deleted (killing its processes, and through the cgroup
 * those runc no longer knows), and every mounted disk is unmounted and destroyed. Only this
 * deployment's containers are touched: other servers on the host keep theirs.
 */
export async function cleanUpLeftovers(dir: string, logger: Logger): Promise<number> {
  let cleaned = 0;
  for (const instance of await subdirs(dir)) cleaned += await cleanUpInstance(join(dir, instance), logger);
  return cleaned;
}

/** The same for one instance's directory: what a launcher that was killed left (containers, its disk). */
export async function cleanUpInstance(instanceDir: string, logger: Logger): Promise<number> {
  let cleaned = 0;
  const instance = basename(instanceDir);
  for (const work of (await subdirs(instanceDir)).filter((d) => d === 'work' || d.startsWith('work-exec'))) {
    const root = join(instanceDir, work, 'runc');
    for (const id of await subdirs(root)) {
      cleaned += 1;
      if ((await run('runc', ['--root', root, 'delete', '--force', id])) !== 0) {
        for (const file of cgroupProcsFiles(cgroupPathOf(id))) await killListed(file);
      }
      logger.warn({ instance, container: id }, 'compute: stopped a container left by a previous run');
    }
  }
  const disk = join(instanceDir, 'disk');
  if (existsSync(disk)) {
    await run('umount', ['--recursive', '--lazy', disk]);
    await rm(disk, { recursive: true, force: true });
    await rm(join(instanceDir, 'disk.img'), { force: true });
  }
  return cleaned;
}

async function killListed(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const pid of text.split('\n').filter((l) => /^\d+$/.test(l))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
