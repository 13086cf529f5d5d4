// Benchmark: one launcher boot (pull from an OCI layout, policy, measurement, token file, teeserver, container) up
// to the workload's first line of output, next to a bare `runc run` of a trivial container measured in the same run.
// The control-plane part (`instances create`, host agent, verifier) joins when the compute service lands.
// Run: npm exec -- node bench/launch.ts [runs]   (needs runc or bwrap, and a static /bin/busybox)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { silentLogger, systemClock, toBase64Url } from '../packages/core/src/index.ts';
import {
  buildRuncSpec,
  createOciLayoutImageSource,
  detectContainerRuntime,
  runLaunch,
  systemTimers,
} from '../packages/launcher/src/index.ts';

const RUNS = Number(process.argv[2] ?? 10);
const base = mkdtempSync(join(tmpdir(), 'sr-bench-launch-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const show = (name: string, xs: number[]) =>
  console.log(
    `${name.padEnd(58)} median ${median(xs).toFixed(1).padStart(7)} ms  (min ${Math.min(...xs).toFixed(1)}, ${xs.length} runs)`,
  );

// A one-layer image: a static busybox, laid out by `tar` as a registry would serve it.
const src = join(base, 'src');
mkdirSync(join(src, 'bin'), { recursive: true });
copyFileSync('/bin/busybox', join(src, 'bin', 'busybox'));
spawnSync('ln', ['-s', 'busybox', join(src, 'bin', 'sh')]);
const layout = join(base, 'layout');
mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
const put = (bytes: Buffer) => {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
};
const tarred = spawnSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 64 << 20 }).stdout;
const layer = put(gzipSync(tarred));
const config = put(
  Buffer.from(JSON.stringify({ config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo ready'], Env: ['PATH=/bin'] } })),
);
const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [layer] })));
writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));

const detection = await detectContainerRuntime({ candidates: ['runc', 'bwrap'] });
console.log(`runtime: ${detection.report.join('; ')}`);
if (!detection.runtime) process.exit(0);

// 1. The machine's limit: `runc run` of a trivial container over an already unpacked rootfs.
if (detection.runtime.kind === 'runc') {
  const rootfs = join(base, 'plain-rootfs');
  spawnSync('cp', ['-a', src, rootfs]);
  const bundle = join(base, 'bundle');
  mkdirSync(bundle);
  const launcherDir = join(base, 'plain-launcher');
  mkdirSync(launcherDir);
  const spec = buildRuncSpec(
    {
      id: 'x',
      rootfs,
      args: ['/bin/sh', '-c', 'echo ready'],
      env: ['PATH=/bin'],
      cwd: '/',
      hostname: 'b',
      launcherDir,
      tmpfsMounts: [],
      devShmSizeKb: 0,
      workDir: base,
    },
    {
      hostNofileHardLimit: Number(
        readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+\d+\s+(\d+)/)?.[1] ?? 131072,
      ),
    },
  );
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    spawnSync('runc', ['--root', join(base, 'runc-state'), 'run', '--bundle', bundle, `bench-${i}`]);
    times.push(performance.now() - t);
  }
  show('limit: bare `runc run` of a trivial container', times);
}

// 2. A launcher boot to the workload's first line of output, with the token file in place.
const images = createOciLayoutImageSource({ layoutDir: layout, unpackDir: join(base, 'unpack') });
const token = () =>
  `e30.${toBase64Url(Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })))}.sig`;
const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  let firstLine = Number.NaN;
  const result = await runLaunch({
    metadata: { 'tee-image-reference': `localhost/p/r/img@${manifest.digest}`, 'tee-container-log-redirect': 'serial' },
    hardened: false,
    instanceName: `bench-${i}`,
    images,
    platform: { measureEvent: async () => {} },
    tokenSource: () => ({ fetchDefaultToken: async () => token(), fetchCustomToken: async () => token() }),
    runtime: detection.runtime,
    launcherDir: join(base, `launcher-${i}`),
    workDir: join(base, 'work'),
    logs: {
      serial: () => {
        if (Number.isNaN(firstLine)) firstLine = performance.now() - started;
      },
      cloudLogging: () => {},
    },
    logger: silentLogger,
    clock: systemClock,
    timers: systemTimers,
    random: Math.random,
  });
  if (result.workloadExit?.exitCode !== 0)
    throw result.error ?? new Error(`workload exited ${result.workloadExit?.exitCode}`);
  times.push(firstLine);
}
show(`launcher boot to the first line (${detection.runtime.kind}, incl. unpack)`, times);
rmSync(base, { recursive: true, force: true });
