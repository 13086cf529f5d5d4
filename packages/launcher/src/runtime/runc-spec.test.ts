// The OCI spec handed to runc: read-only root, the launcher mount, tmpfs options, limits and namespaces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRuncSpec } from './runc-spec.ts';
import type { ContainerConfig } from './types.ts';

const config: ContainerConfig = {
  id: 'c1',
  rootfs: '/state/rootfs',
  args: ['/app', '--flag'],
  env: ['A=1'],
  cwd: '/work',
  user: { uid: 1000, gid: 1000 },
  hostname: 'vm1',
  launcherDir: '/state/launcher',
  tmpfsMounts: [{ destination: '/var/tmp/x', sizeBytes: 4096 }, { destination: '/t' }],
  devShmSizeKb: 0,
  workDir: '/state/work',
};

type Spec = {
  root: { readonly: boolean };
  process: { rlimits: { hard: number }[]; user: { uid: number }; args: string[]; capabilities: { bounding: string[] } };
  mounts: { destination: string; source: string; options?: string[] }[];
  linux: { namespaces: { type: string }[] };
};

test('the root is read-only and the launcher dir is bound read-only at /run/container_launcher', () => {
  const spec = buildRuncSpec(config) as unknown as Spec;
  assert.equal(spec.root.readonly, true);
  const launcher = spec.mounts.find((m) => m.destination === '/run/container_launcher');
  assert.deepEqual(launcher, {
    destination: '/run/container_launcher',
    type: 'bind',
    source: '/state/launcher',
    options: ['rbind', 'ro'],
  });
});

test('tmpfs mounts are nosuid,noexec,nodev with the size when given; /dev/shm defaults to 64 MiB', () => {
  const spec = buildRuncSpec(config) as unknown as Spec;
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/var/tmp/x')?.options, [
    'nosuid',
    'noexec',
    'nodev',
    'size=4096',
  ]);
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/t')?.options, ['nosuid', 'noexec', 'nodev']);
  assert.ok(spec.mounts.find((m) => m.destination === '/dev/shm')?.options?.includes('size=65536k'));
});

test('RLIMIT_NOFILE is 131072 unless the host allows less; added capabilities and cgroup ns are applied', () => {
  const spec = buildRuncSpec(config, {
    hostNofileHardLimit: 20_000,
    addedCapabilities: ['CAP_SYS_ADMIN'],
    cgroupNamespace: true,
  }) as unknown as Spec;
  assert.equal(spec.process.rlimits[0]?.hard, 20_000);
  assert.equal((buildRuncSpec(config) as unknown as Spec).process.rlimits[0]?.hard, 131_072);
  assert.ok(spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(spec.linux.namespaces.some((n) => n.type === 'cgroup'));
  assert.ok(!spec.linux.namespaces.some((n) => n.type === 'network'), 'host network');
  assert.equal(spec.process.user.uid, 1000);
  assert.deepEqual(spec.process.args, ['/app', '--flag']);
});

test('the container joins the instance network namespace by path, or stays on the host network without one', () => {
  const isolated = buildRuncSpec({ ...config, netnsPath: '/run/netns/sealroom-abc123-0' }) as unknown as {
    linux: { namespaces: { type: string; path?: string }[] };
  };
  assert.deepEqual(
    isolated.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/run/netns/sealroom-abc123-0' },
  );
  const host = buildRuncSpec(config) as unknown as Spec;
  assert.equal(
    host.linux.namespaces.some((n) => n.type === 'network'),
    false,
  );
});
