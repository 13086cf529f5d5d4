// Benchmark: one launcher boot (pull from an OCI layout, policy, measurement, token file, teeserver, container) up
// to the workload's first line of output, next to a bare `runc run` of a trivial container measured in the same run.
// 2b. The start-up of the `sealroom launcher` process the host agents start for each boot (Node.js and the
// launcher's modules, up to its first request to the metadata server), which 3 and 4 include;
// 3. The control plane: `instances create` over REST on `sealroom serve --dev` (host agent, metadata server, the
// `sealroom launcher` process, soft platform, registry pull, the real verifier) to the workload's first line in the
// serial output, cold (first pull) and warm (image cached);
// 4. the same with the instance on a remote host: `sealroom host run` as its own process, joined with a token, over
// the mutual-TLS channel (tokens and the AK certificate asked of the control plane for each boot).
// Run: npm exec -- node bench/launch.ts [runs]   (needs runc or bwrap, and a static /bin/busybox)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { silentLogger, systemClock, toBase64Url } from '../packages/core/src/index.ts';
import { openOciLayout, pushFromLayout } from '../packages/formats/src/index.ts';
import { LAUNCHER_ENTRY, joinDeployment } from '../packages/compute/src/index.ts';
import { createOutboundClient } from '../packages/outbound/src/index.ts';
import { RegistryClient } from '../packages/registry/src/index.ts';
import { ServerConfigSchema, startServer } from '../packages/server/src/index.ts';
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

// 2b. `sealroom launcher` start-up: from spawn to its (refused) first metadata request, with Node's compile cache
// as the host agents give it (the first start fills the cache and is left out).
{
  // A port nothing listens on: the launcher's first metadata request is refused at once and it exits 1.
  const refused = await new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const startups: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const child = spawn(
        process.execPath,
        [LAUNCHER_ENTRY, `--metadata-host=127.0.0.1:${refused}`, `--dir=${join(base, 'startup')}`],
        { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: join(base, 'compile-cache') } },
      );
      child.once('close', () => resolve());
    });
    if (i > 0) startups.push(performance.now() - started);
  }
  show('sealroom launcher process start-up (compile cache warm)', startups);
}

// 3. `instances create` → first workload line in the serial output, through `sealroom serve --dev`.
const server = await startServer(
  ServerConfigSchema.parse({ port: 0, grpcPort: -1, dev: true, stateDir: join(base, 'state'), logLevel: 'silent' }),
  { logger: silentLogger },
);
try {
  const { deps } = server.iam;
  // An administrator: it issues the remote host's enrolment token too.
  await deps.credentials.ensureUser('bench@example.com', 'dev', true);
  const { accessToken } = await deps.credentials.issueAccessToken({
    kind: 'user',
    principal: 'user:bench@example.com',
    lifetimeMs: 3600_000,
  });
  const project = await deps.projects.create('bench-project', 'bench-project', 'user:bench@example.com', Date.now());
  const sa = await deps.serviceAccounts.create(project, 'bench-vm', 'bench', '');
  await deps.policies.update(
    `projects/${project.projectNumber}`,
    () => [
      { role: 'roles/owner', members: ['user:bench@example.com'] },
      { role: 'roles/confidentialcomputing.workloadUser', members: [`serviceAccount:${sa.email}`] },
      { role: 'roles/artifactregistry.reader', members: [`serviceAccount:${sa.email}`] },
    ],
    Date.now(),
  );
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await api('POST', '/v1/projects/bench-project/locations/us-central1/repositories?repositoryId=repo1', {
    format: 'DOCKER',
  });
  // The same busybox layer, as an OCI image whose workload prints once the token file is in place.
  const oci = await openOciLayout(join(base, 'bench-oci'), { create: true });
  const ociLayer = await oci.putBlob(gzipSync(tarred));
  const ociConfig = await oci.putBlob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {
          Entrypoint: ['/bin/sh', '-c'],
          Cmd: ['test -s /run/container_launcher/attestation_verifier_claims_token && echo ready'],
          Env: ['PATH=/bin'],
          Labels: { 'tee.launch_policy.log_redirect': 'always' },
        },
        rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(tarred).digest('hex')}`] },
      }),
    ),
  );
  const ociManifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...ociConfig },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...ociLayer }],
    }),
  );
  const ociManifest = await oci.putBlob(ociManifestBytes);
  const host = new URL(server.url).host;
  const client = new RegistryClient({ baseUrl: server.url, username: 'oauth2accesstoken', password: accessToken });
  await pushFromLayout(
    client,
    oci,
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...ociManifest },
    'bench-project/repo1/ready',
    'v1',
  );
  const measureZone = async (zoneName: string, label: string) => {
    const zone = `/compute/v1/projects/bench-project/zones/${zoneName}/instances`;
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `bench-${i}`;
      const started = performance.now();
      await api('POST', zone, {
        name,
        serviceAccounts: [{ email: sa.email }],
        disks: [
          {
            boot: true,
            initializeParams: {
              sourceImage: 'projects/confidential-space-images/global/images/family/confidential-space',
            },
          },
        ],
        metadata: {
          items: [
            { key: 'tee-image-reference', value: `${host}/bench-project/repo1/ready@${ociManifest.digest}` },
            { key: 'tee-container-log-redirect', value: 'serial' },
          ],
        },
      });
      for (;;) {
        const out = await api('GET', `${zone}/${name}/serialPort`);
        if (String(out.contents).includes('workload stdout: ready')) break;
        if (/launcher: exit code [1-9]|no host of pool/.test(String(out.contents)))
          throw new Error(String(out.contents));
        await new Promise((r) => setTimeout(r, 10));
      }
      (i === 0 ? cold : warm).push(performance.now() - started);
      await api('DELETE', `${zone}/${name}`);
    }
    show(`${label}: instances create → first line, cold (pull + unpack)`, cold);
    if (warm.length > 0) show(`${label}: instances create → first line, warm (image cached)`, warm);
  };
  await measureZone('us-central1-a', 'embedded host');

  // The remote host: joined with a token, then `sealroom host run` in its own process.
  const pool = 'us-central1-b';
  const { token } = (await api('POST', '/v1/admin/hostTokens', { pool })) as { token: string };
  const hostDir = join(base, 'remote-host');
  await joinDeployment({
    api: server.url,
    token,
    name: 'bench-host',
    stateDir: hostDir,
    outbound: createOutboundClient(),
    insecureEnrolment: true,
  });
  const agent = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'sealroom.js'),
      'host',
      'run',
      '--state-dir',
      hostDir,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    for (let i = 0; ; i++) {
      const { hosts } = (await api('GET', '/v1/admin/hosts')) as { hosts: { connected: boolean }[] };
      if (hosts.some((h) => h.connected)) break;
      if (i > 600) throw new Error('the remote host did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
    await measureZone(pool, 'remote host');
  } finally {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
  }
} finally {
  await server.close();
}
rmSync(base, { recursive: true, force: true });
