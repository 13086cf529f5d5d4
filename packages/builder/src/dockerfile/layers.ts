// The layers a build adds, made canonical: the engine's layers are applied on top of the base as a
// filesystem, and one layer is written with the project's tar writer holding exactly what differs from
// the base (timestamps, entry order and storage-driver quirks gone), so the digest depends only on content.
import { gunzipSync } from 'node:zlib';
import { BuilderError } from '../errors.ts';
import { type ReadTarEntry, readTar, type TarEntry } from '../tar.ts';

export interface FsNode {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content?: Buffer;
  readonly target?: string;
}

/** A filesystem as layers leave it: path (`a/b`, no leading slash) → node. */
export type FsState = Map<string, FsNode>;

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Extended attributes a layer may carry that say nothing about the content (SELinux labels of the build host). */
const IGNORED_XATTRS = new Set(['security.selinux']);

/** Uncompressed tar bytes of a layer blob (gzip by magic number, else plain tar). */
export function toLayerTar(blob: Buffer): Buffer {
  if (blob.length >= 2 && blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
  if (blob.length >= 4 && blob.readUInt32LE(0) === 0xfd2fb528) {
    throw new BuilderError('ERR_BUILDER_TAR', 'zstd-compressed layers are not supported.');
  }
  return blob;
}

/** `./a/b/` → `a/b`; the root → ''; a path with `..` is refused (a layer never leaves its root). */
function cleanPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new BuilderError('ERR_BUILDER_TAR', `Layer path '${path.slice(0, 200)}' leaves the root.`);
  return parts.join('/');
}

function removeTree(state: FsState, path: string): void {
  state.delete(path);
  const prefix = `${path}/`;
  for (const key of [...state.keys()]) if (key.startsWith(prefix)) state.delete(key);
}

function toNode(entry: ReadTarEntry, state: FsState, strict: boolean): FsNode | undefined {
  const owner = { mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid };
  if (strict) {
    const xattr = entry.xattrs.find((x) => !IGNORED_XATTRS.has(x));
    if (xattr !== undefined) {
      throw new BuilderError(
        'ERR_BUILDER_TAR',
        `The build gave '${entry.path.slice(0, 200)}' the extended attribute ${xattr}, which images built here do not carry.`,
      );
    }
  }
  switch (entry.type) {
    case 'file':
      return { type: 'file', ...owner, content: entry.content };
    case 'dir':
      return { type: 'dir', ...owner };
    case 'symlink':
      return { type: 'symlink', ...owner, target: entry.linkname };
    case 'hardlink': {
      const target = state.get(cleanPath(entry.linkname));
      if (target?.type !== 'file') {
        throw new BuilderError('ERR_BUILDER_TAR', `Hard link '${entry.path.slice(0, 200)}' names no file.`);
      }
      return { ...target };
    }
    default:
      if (strict) {
        throw new BuilderError(
          'ERR_BUILDER_TAR',
          `The build made '${entry.path.slice(0, 200)}' a device or FIFO (tar type ${entry.typeflag}); images built here hold files, directories and links.`,
        );
      }
      return { type: 'other', ...owner };
  }
}

/**
 * Applies one layer (image-spec `layer.md`): its whiteouts hide what lower layers put there, then its
 * entries are added; a missing parent directory appears as 0755 root. `strict` refuses what the
 * canonical layer could not write (devices, FIFOs, extended attributes).
 */
export function applyLayerTo(state: FsState, tar: Buffer, strict: boolean): void {
  const entries = readTar(tar).map((entry) => ({ entry, path: cleanPath(entry.path) }));
  for (const { path } of entries) {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const base = path.slice(slash + 1);
    if (base === OPAQUE) {
      for (const key of [...state.keys()]) if (dir === '' || key.startsWith(`${dir}/`)) state.delete(key);
    } else if (base.startsWith(WHITEOUT)) {
      removeTree(state, `${dir === '' ? '' : `${dir}/`}${base.slice(WHITEOUT.length)}`);
    }
  }
  for (const { entry, path } of entries) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (path === '' || base.startsWith(WHITEOUT)) continue;
    const node = toNode(entry, state, strict);
    if (node === undefined) continue;
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = state.get(parent);
      if (existing?.type !== 'dir') state.set(parent, { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    }
    const existing = state.get(path);
    if (existing?.type === 'dir' && node.type !== 'dir') removeTree(state, path);
    state.set(path, node);
  }
}

/** Files the engine creates empty in every RUN container, to bind-mount the host's over them. */
const ENGINE_MOUNT_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];
/** Directories it creates for the container's mounts. */
const ENGINE_MOUNT_DIRS = ['dev', 'proc', 'sys', 'run', 'etc'];

/**
 * Removes from `final` the mount points the engine left behind (empty `/etc/hosts`, `/etc/resolv.conf`,
 * `/etc/hostname`; empty `/dev`, `/proc`, `/sys`, `/run`, `/etc`) where the base had none: they are
 * artefacts of how RUN steps ran, not content, and the runtime provides them again.
 */
export function dropEngineMountPoints(base: FsState, final: FsState): void {
  for (const path of ENGINE_MOUNT_FILES) {
    const node = final.get(path);
    if (!base.has(path) && node?.type === 'file' && node.content?.length === 0) final.delete(path);
  }
  for (const path of ENGINE_MOUNT_DIRS) {
    if (base.has(path) || final.get(path)?.type !== 'dir') continue;
    const prefix = `${path}/`;
    if (![...final.keys()].some((key) => key.startsWith(prefix))) final.delete(path);
  }
}

function sameNode(a: FsNode, b: FsNode): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === 'file') return (a.content as Buffer).equals(b.content as Buffer);
  if (a.type === 'symlink') return a.target === b.target;
  return true;
}

/**
 * What `final` adds to `base`, as tar entries: changed or new paths with every parent directory (with
 * its final owner and mode, so applying the layer never resets a parent), and a `.wh.` whiteout for each
 * topmost path that is gone. Hard links become copies (a canonical layer has no inode identity).
 */
export function diffStates(base: FsState, final: FsState): TarEntry[] {
  const out = new Map<string, TarEntry>();
  const addParents = (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (out.has(parent)) continue;
      const node = final.get(parent);
      if (node?.type !== 'dir')
        throw new BuilderError('ERR_BUILDER_TAR', `'${parent}' is not a directory in the image.`);
      out.set(parent, { type: 'dir', path: parent, mode: node.mode, uid: node.uid, gid: node.gid });
    }
  };
  for (const [path, node] of final) {
    const before = base.get(path);
    if (before !== undefined && sameNode(before, node)) continue;
    if (node.type === 'other') throw new BuilderError('ERR_BUILDER_TAR', `'${path}' is a device or FIFO.`);
    const owner = { uid: node.uid, gid: node.gid };
    if (node.type === 'file')
      out.set(path, { type: 'file', path, content: node.content as Buffer, mode: node.mode, ...owner });
    else if (node.type === 'dir') out.set(path, { type: 'dir', path, mode: node.mode, ...owner });
    else out.set(path, { type: 'symlink', path, target: node.target as string, ...owner });
    addParents(path);
  }
  for (const path of base.keys()) {
    if (final.has(path)) continue;
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    // Only the topmost missing path: its parent is still a directory that the base also had.
    if (parent !== '' && (final.get(parent)?.type !== 'dir' || base.get(parent)?.type !== 'dir')) continue;
    const whiteout = `${parent === '' ? '' : `${parent}/`}${WHITEOUT}${path.slice(slash + 1)}`;
    out.set(whiteout, { type: 'file', path: whiteout, content: Buffer.alloc(0), mode: 0o644 });
    if (parent !== '') addParents(whiteout);
  }
  return [...out.values()];
}
