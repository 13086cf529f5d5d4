import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildDebianBaseImage, resolvePackageClosure } from './debian-base.ts';
import { BuilderError } from './errors.ts';
import { readTar } from './tar.ts';

const pkg = (name: string, depends = '', provides = '') => ({
  id: name,
  name,
  version: '1.0',
  arch: 'amd64',
  depends,
  provides,
  conffiles: '',
});

describe('resolvePackageClosure', () => {
  it('follows Depends and Pre-Depends, takes the first installed alternative and an installed provider', () => {
    const installed = new Map(
      [
        pkg('app', 'libc6 (>= 2.36), mawk | gawk, awk-virtual:any'),
        pkg('libc6', 'libgcc-s1'),
        pkg('libgcc-s1', 'libc6'),
        pkg('gawk'),
        pkg('busybox', '', 'awk-virtual'),
      ].map((p) => [p.name, p]),
    );
    assert.deepEqual(
      resolvePackageClosure(['app'], installed).map((p) => p.name),
      ['app', 'busybox', 'gawk', 'libc6', 'libgcc-s1'],
    );
  });

  it('refuses a package this machine does not have, or a dependency nothing satisfies', () => {
    const installed = new Map([pkg('app', 'missing-lib')].map((p) => [p.name, p]));
    assert.throws(() => resolvePackageClosure(['nope'], installed), /'nope' is not installed/);
    assert.throws(
      () => resolvePackageClosure(['app'], installed),
      (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_IMPORT' && /missing-lib/.test(e.message),
    );
  });
});

const noBusybox =
  spawnSync('dpkg-query', ['-W', 'busybox-static']).status === 0 ? false : 'busybox-static is not installed';

describe('buildDebianBaseImage', { skip: noBusybox }, () => {
  it('assembles the same image twice: busybox, its applet links, a dpkg status naming it, /tmp 1777, merged /usr links', () => {
    const a = buildDebianBaseImage({ packages: ['busybox-static'] });
    const b = buildDebianBaseImage({ packages: ['busybox-static'] });
    assert.equal(a.digest, b.digest);
    assert.deepEqual(
      a.packages.map((p) => p.split('=')[0]),
      ['busybox-static'],
    );
    const entries = new Map(readTar(a.layers[0]?.bytes as Buffer).map((e) => [e.path.replace(/\/$/, ''), e]));
    const busybox = [...entries.values()].find((e) => /(^|\/)bin\/busybox$/.test(e.path) && e.type === 'file');
    assert.ok(busybox, 'the busybox binary');
    assert.equal(busybox.mode & 0o111, 0o111);
    const sh = [...entries.values()].find((e) => /(^|\/)bin\/sh$/.test(e.path));
    assert.equal(sh?.type, 'symlink');
    assert.match(entries.get('var/lib/dpkg/status')?.content.toString() ?? '', /^Package: busybox-static$/m);
    assert.equal(entries.get('tmp')?.mode, 0o1777);
    assert.equal(entries.get('usr/share/doc/busybox-static/copyright'), undefined, 'documentation is left out');
    assert.ok([...entries.values()].every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0));
    if (lstatSync('/bin').isSymbolicLink()) assert.equal(entries.get('bin')?.linkname, readlinkSync('/bin'));
    assert.deepEqual(a.config.config?.Cmd, ['/bin/sh']);
    assert.match(a.config.config?.Labels?.['org.sealroom.base.packages'] ?? '', /^busybox-static=/);
  });
});
