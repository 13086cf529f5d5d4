// Builds a tiny rootfs for runtime tests: a static busybox when there is one, else the host's dash and coreutils
// with the shared libraries ldd names. Used only by tests.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

const TOOLS = ['sh', 'cat', 'touch', 'df', 'hostname', 'sleep', 'tail', 'echo'];
const BUSYBOX = '/bin/busybox';

function isStatic(path: string): boolean {
  try {
    execFileSync('ldd', [path], { stdio: ['ignore', 'pipe', 'pipe'] });
    return false;
  } catch (error) {
    return /not a dynamic executable/.test(String((error as { stderr?: unknown }).stderr));
  }
}

function which(tool: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin']) if (existsSync(join(dir, tool))) return join(dir, tool);
  return undefined;
}

/** The libraries (and loader) a dynamic binary needs, as absolute host paths. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]!).filter((p) => existsSync(p));
}

function copyInto(rootfs: string, hostPath: string): void {
  const target = join(rootfs, hostPath);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(hostPath), target);
}

/** How the rootfs can be built here, or why it cannot. */
export function testRootfsProblem(): string | undefined {
  if (existsSync(BUSYBOX) && isStatic(BUSYBOX)) return undefined;
  const missing = TOOLS.filter((t) => t !== 'echo' && !which(t));
  return missing.length === 0 ? undefined : `no static busybox and no host ${missing.join(', ')}`;
}

/** Creates `rootfs` with /bin/sh and the tools the tests' scripts use. */
export function buildTestRootfs(rootfs: string, options: { preferHost?: boolean } = {}): void {
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  if (!options.preferHost && existsSync(BUSYBOX) && isStatic(BUSYBOX)) {
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    for (const tool of TOOLS) symlinkSync('busybox', join(rootfs, 'bin', tool));
    return;
  }
  for (const tool of TOOLS) {
    if (tool === 'echo') continue; // a shell builtin
    const host = which(tool);
    if (!host) continue;
    copyFileSync(realpathSync(host), join(rootfs, 'bin', tool));
    for (const lib of sharedLibraries(host)) copyInto(rootfs, lib);
  }
}

/** Copies a host binary (e.g. curl) and its shared libraries into the rootfs at the same path; false if absent. */
export function addHostBinary(rootfs: string, hostPath: string): boolean {
  if (!existsSync(hostPath)) return false;
  copyInto(rootfs, hostPath);
  for (const lib of sharedLibraries(hostPath)) copyInto(rootfs, lib);
  return true;
}
