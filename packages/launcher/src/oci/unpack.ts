// Applies OCI image layers to a rootfs directory: whiteouts, opaque dirs, links, never writing outside the root (OCI image-spec layer.md).
import { chmod, link, lchown, lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { LauncherError } from '../errors.ts';
import { type TarEntry, decompressLayer, parseTar } from './tar.ts';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
const MAX_SYMLINKS = 40;

/** Normalises an archive path to `a/b/c` relative to the root; undefined for the root itself. */
export function toRootRelative(path: string): string | undefined {
  const normalized = posix.normalize(`/${path}`).replace(/^\/+/, '').replace(/\/+$/, '');
  return normalized === '' || normalized === '.' ? undefined : normalized;
}

/**
 * The host path of `relative` inside `rootfs`, following symlinks in the parent components as the
 * container would see them (absolute targets from the rootfs root, `..` stopping at the root), so a
 * layer entry can never land outside the rootfs. The last component is not followed.
 */
export async function resolveInRoot(rootfs: string, relative: string): Promise<string> {
  const pending = relative.split('/').filter((p) => p !== '' && p !== '.');
  const last = pending.pop();
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(rootfs, ...resolved, part);
    const info = await lstat(host).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      hops += 1;
      if (hops > MAX_SYMLINKS)
        throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `too many symlinks in ${relative}`);
      const target = await readlink(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    resolved.push(part);
  }
  if (last === undefined || last === '..') return join(rootfs, ...resolved);
  return join(rootfs, ...resolved, last);
}

async function ensureParentDirs(rootfs: string, relative: string): Promise<void> {
  const parent = posix.dirname(relative);
  if (parent === '.') return;
  let soFar = '';
  for (const part of parent.split('/')) {
    soFar = soFar ? `${soFar}/${part}` : part;
    const host = await resolveInRoot(rootfs, soFar);
    const info = await lstat(host).catch(() => undefined);
    if (info === undefined) await mkdir(host, { mode: 0o755 });
    else if (info.isSymbolicLink()) {
      // Every component of the resolved target is a real directory or missing, and inside the rootfs.
      const target = posix.dirname(await resolveInRoot(rootfs, `${soFar}/probe`));
      await mkdir(target, { recursive: true, mode: 0o755 });
    } else if (!info.isDirectory()) {
      await rm(host, { force: true });
      await mkdir(host, { mode: 0o755 });
    }
  }
}

const isRoot = process.getuid?.() === 0;

async function applyEntry(
  rootfs: string,
  entry: TarEntry,
  relative: string,
  dirModes: Map<string, number>,
): Promise<void> {
  await ensureParentDirs(rootfs, relative);
  const host = await resolveInRoot(rootfs, relative);
  const existing = await lstat(host).catch(() => undefined);
  if (entry.type === 'dir') {
    if (existing && !existing.isDirectory()) await rm(host, { recursive: true, force: true });
    if (!existing?.isDirectory()) await mkdir(host, { mode: 0o755 });
    dirModes.set(host, entry.mode);
  } else {
    if (existing) await rm(host, { recursive: true, force: true });
    if (entry.type === 'file') {
      await writeFile(host, entry.data, { mode: entry.mode });
      await chmod(host, entry.mode);
    } else if (entry.type === 'symlink') {
      await symlink(entry.linkTarget, host);
    } else if (entry.type === 'hardlink') {
      const targetRelative = toRootRelative(entry.linkTarget);
      if (!targetRelative) throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `hard link ${relative} has no target`);
      await link(await resolveInRoot(rootfs, targetRelative), host);
    } else {
      // Devices and FIFOs: the runtime provides /dev; nothing else in a workload image needs them.
      return;
    }
  }
  if (isRoot && entry.type !== 'hardlink') await lchown(host, entry.uid, entry.gid).catch(() => undefined);
}

/** Applies one layer blob (tar, tar+gzip or tar+zstd) on top of `rootfs`. */
export async function applyLayer(rootfs: string, blob: Uint8Array): Promise<void> {
  const entries = parseTar(decompressLayer(blob));
  const createdHere = new Set<string>();
  const dirModes = new Map<string, number>();
  for (const entry of entries) {
    const relative = toRootRelative(entry.path);
    if (relative === undefined) continue;
    const base = posix.basename(relative);
    const dir = posix.dirname(relative);
    if (base === OPAQUE_WHITEOUT) {
      // Hides everything lower layers put in the directory; entries of this layer stay.
      const hostDir = await resolveInRoot(rootfs, dir === '.' ? '' : dir);
      for (const child of await readdir(hostDir).catch(() => [] as string[])) {
        const childRelative = dir === '.' ? child : `${dir}/${child}`;
        if (!createdHere.has(childRelative)) await rm(join(hostDir, child), { recursive: true, force: true });
      }
      continue;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const hidden = `${dir === '.' ? '' : `${dir}/`}${base.slice(WHITEOUT_PREFIX.length)}`;
      await rm(await resolveInRoot(rootfs, hidden), { recursive: true, force: true });
      continue;
    }
    await applyEntry(rootfs, entry, relative, dirModes);
    createdHere.add(relative);
  }
  for (const [host, mode] of dirModes) await chmod(host, mode);
}

/** Unpacks layers in order into a fresh directory `rootfs`. */
export async function unpackLayers(rootfs: string, blobs: readonly Uint8Array[]): Promise<void> {
  await mkdir(rootfs, { recursive: true, mode: 0o755 });
  for (const blob of blobs) await applyLayer(rootfs, blob);
}
