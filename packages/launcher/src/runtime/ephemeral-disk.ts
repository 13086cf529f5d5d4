// The instance's disk for one boot: the container's writable layer over the read-only image, on an area keyed
// at boot and never stored, sized to the disk limit less the image; closing it destroys what the workload wrote.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LauncherError } from '../errors.ts';
import { runCommand, runCommandWithInput } from './child.ts';
import { type Reaper, shellQuote, startReaper } from './reaper.ts';

export type EphemeralDiskKind = 'dm-crypt' | 'tmpfs' | 'none';

export interface EphemeralDisk {
  readonly kind: EphemeralDiskKind;
  /** The size limit of the disk (image and writes together); undefined when nothing enforces one. */
  readonly sizeBytes: number | undefined;
  /** One line for the serial output and the instance status: what protects the disk and its size. */
  readonly description: string;
  /**
   * Mounts the area, sized to the disk less the image's `imageBytes`, and the writable layer over the
   * unpacked image (read-only below it); returns the container's root.
   */
  overlay(imageRootfs: string, imageBytes: number): Promise<string>;
  /** Unmounts and destroys the area (and forgets the key); safe to call twice. */
  close(): Promise<void>;
}

export interface EphemeralDiskOptions {
  /** A directory of this instance on the host; the area is mounted under it. */
  readonly dir: string;
  readonly sizeBytes: number;
  /** Which protections to try, in order (default dm-crypt, then tmpfs). */
  readonly candidates?: readonly ('dm-crypt' | 'tmpfs')[];
}

const GIB = 1024 ** 3;
/** Below this the workload could not even write its logs or temporary files. */
const MIN_WRITABLE_BYTES = 16 * 1024 ** 2;

function formatSize(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

function diskError(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_DISK', message);
}

async function must(command: string, args: readonly string[]): Promise<string> {
  const result = await runCommand(command, args, 60_000);
  if (result.code !== 0) throw diskError(`${command} ${args[0] ?? ''} failed: ${result.stderr.trim().slice(0, 300)}`);
  return result.stdout.trim();
}

/** dm-crypt needs cryptsetup and the kernel's device-mapper (/dev/mapper/control). */
export async function canUseDmCrypt(): Promise<boolean> {
  if (process.getuid?.() !== 0 || !existsSync('/dev/mapper/control')) return false;
  return (await runCommand('cryptsetup', ['--version'])).code === 0;
}

/**
 * Prepares a fresh area at `<dir>/disk`, mounted by `overlay()`: dm-crypt (plain mode, AES-XTS, a 512-bit key from the CSPRNG
 * handed to cryptsetup on stdin and dropped) over a sparse file on a loop device, formatted ext4; or a
 * tmpfs of the same size, which lives in memory only. Either way a write past the size fails with
 * ENOSPC inside the container. Without root nothing can be mounted: the area is a plain directory and
 * the instance says the disk is neither isolated nor limited.
 */
export async function mountEphemeralDisk(options: EphemeralDiskOptions): Promise<EphemeralDisk> {
  const area = join(options.dir, 'disk');
  await rm(area, { recursive: true, force: true });
  await mkdir(area, { recursive: true, mode: 0o700 });
  const candidates = options.candidates ?? ['dm-crypt', 'tmpfs'];
  const size = formatSize(options.sizeBytes);
  let kind: EphemeralDiskKind = 'none';
  let description = 'disk: a plain directory, neither encrypted nor size-limited (the launcher does not run as root)';
  if (process.getuid?.() === 0) {
    if (candidates.includes('dm-crypt') && (await canUseDmCrypt())) {
      kind = 'dm-crypt';
      description = `disk: dm-crypt (aes-xts-plain64, key generated at boot and never stored), ${size} with the image`;
    } else if (candidates.includes('tmpfs')) {
      kind = 'tmpfs';
      description = `disk: tmpfs (in memory, no dm-crypt on this host), ${size} with the image`;
    }
  }
  let unmount: () => Promise<void> = async () => {};
  let reaper: Reaper | undefined;
  let closed = false;
  let overlaid: string | undefined;
  return {
    kind,
    sizeBytes: kind === 'none' ? undefined : options.sizeBytes,
    description,
    async overlay(imageRootfs, imageBytes) {
      const upper = join(area, 'upper');
      const work = join(area, 'work');
      const merged = join(area, 'rootfs');
      // Nothing can be mounted: the container gets the unpacked image itself, read-only, as without a disk.
      if (kind === 'none') return imageRootfs;
      // The image counts against the disk, as on Confidential Space ("this includes the workload image").
      const writable = options.sizeBytes - imageBytes;
      if (writable < MIN_WRITABLE_BYTES)
        throw diskError(`the image (${formatSize(imageBytes)}) does not fit in the instance's disk (${size})`);
      let forget = `umount --recursive --lazy ${shellQuote(area)}`;
      if (kind === 'dm-crypt') {
        const mounted = await mountDmCrypt(options.dir, area, writable);
        unmount = mounted.unmount;
        forget = mounted.forgetScript;
      } else {
        await must('mount', ['-t', 'tmpfs', '-o', `size=${writable},mode=0700`, 'tmpfs', area]);
        unmount = () => unmountAll(area);
      }
      // If the launcher dies without closing the disk, its watchdog unmounts and destroys it.
      reaper = startReaper(`${forget}; rm -rf ${shellQuote(area)}`);
      for (const dir of [upper, work, merged]) await mkdir(dir, { recursive: true, mode: 0o755 });
      await must('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${imageRootfs},upperdir=${upper},workdir=${work}`,
        merged,
      ]);
      overlaid = merged;
      return merged;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (overlaid) await unmountAll(overlaid);
      await unmount();
      reaper?.release();
      await rm(area, { recursive: true, force: true });
    },
  };
}

async function mountDmCrypt(
  dir: string,
  area: string,
  sizeBytes: number,
): Promise<{ unmount: () => Promise<void>; forgetScript: string }> {
  const backing = join(dir, 'disk.img');
  await rm(backing, { force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(backing, '', { mode: 0o600 });
  await truncate(backing, sizeBytes);
  const loop = await must('losetup', ['--find', '--show', backing]);
  const name = `sealroom-${randomBytes(6).toString('hex')}`;
  const key = randomBytes(64);
  try {
    const opened = await runCommandWithInput(
      'cryptsetup',
      [
        'open',
        '--type',
        'plain',
        '--cipher',
        'aes-xts-plain64',
        '--key-size',
        '512',
        '--key-file',
        '-',
        '--keyfile-size',
        '64',
        loop,
        name,
      ],
      key,
    );
    if (opened.code !== 0) throw diskError(`cryptsetup open failed: ${opened.stderr.trim().slice(0, 300)}`);
  } catch (error) {
    await runCommand('losetup', ['--detach', loop]);
    throw error;
  } finally {
    key.fill(0);
  }
  const device = `/dev/mapper/${name}`;
  await must('mkfs.ext4', ['-q', '-m', '0', '-E', 'nodiscard', device]);
  await must('mount', [device, area]);
  return {
    unmount: async () => {
      await unmountAll(area);
      await runCommand('cryptsetup', ['close', name]);
      await runCommand('losetup', ['--detach', loop]);
      await rm(backing, { force: true });
    },
    forgetScript: [
      `umount --recursive --lazy ${shellQuote(area)}`,
      `cryptsetup close ${shellQuote(name)}`,
      `losetup --detach ${shellQuote(loop)}`,
      `rm -f ${shellQuote(backing)}`,
    ].join('; '),
  };
}

/** Lazily unmounts `path` (and anything mounted under it); a path that is not mounted is fine. */
async function unmountAll(path: string): Promise<void> {
  await runCommand('umount', ['--recursive', '--lazy', path]);
}
