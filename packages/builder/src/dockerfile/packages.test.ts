import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FsNode, FsState } from './layers.ts';
import { findImagePackages } from './packages.ts';

const text = (content: string): FsNode => ({
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  content: Buffer.from(content),
});

it('lists dpkg, distroless status.d, apk and npm packages by purl, skipping packages that are not installed', () => {
  const state: FsState = new Map<string, FsNode>([
    ['usr/lib/os-release', text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')],
    ['etc/os-release', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, target: '../usr/lib/os-release' }],
    [
      'var/lib/dpkg/status',
      text(
        [
          'Package: busybox-static',
          'Status: install ok installed',
          'Architecture: amd64',
          'Version: 1:1.35.0-4+deb12u1+b1',
          'Description: Standalone rescue shell',
          ' with tons of builtin utilities',
          '',
          'Package: gone',
          'Status: deinstall ok config-files',
          'Version: 1.0',
          '',
        ].join('\n'),
      ),
    ],
    ['var/lib/dpkg/status.d/tzdata', text('Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n')],
    ['lib/apk/db/installed', text('P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\n')],
    ['app/node_modules/@scope/lib/package.json', text('{"name":"@scope/lib","version":"2.0.0","license":"MIT"}')],
    ['app/node_modules/@scope/lib/test/package.json', text('{"name":"fixture","version":"0.0.0"}')],
  ]);
  assert.deepEqual(
    findImagePackages(state).map((c) => c.purl),
    [
      'pkg:apk/debian/musl@1.2.4-r2?arch=x86_64',
      'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64&distro=debian-12',
      'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
      'pkg:npm/%40scope/lib@2.0.0',
    ],
  );
});
