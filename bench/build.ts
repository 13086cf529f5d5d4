// Benchmark: `sealroom build` of the builder's example workload on the real pinned Node runtime, cold
// (runtime layer made from scratch) and warm (layer cache), and registry push/pull throughput over
// loopback, printed next to a bare loopback HTTP transfer, a raw disk copy and SHA-256 of the same bytes
// measured in the same run. Then Dockerfile builds (buildah; bases from this machine's Debian packages):
// a multi-stage C program and the word-count workload, cold (--no-cache) and warm (cached result), next
// to copying their context and their image's bytes on disk.
// Run: npm exec -- node bench/build.ts [compression gzip|none]
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDockerfileImage,
  buildImage,
  type Compression,
  createLayerCache,
  dockerfileBuildsUnavailable,
  pushImage,
  pushTestBaseImages,
  readBuildContext,
  registryBaseImages,
  resolveNodeRuntime,
} from '@sealroom/builder';
import { computeDigest } from '@sealroom/formats';
import { RegistryClient } from '@sealroom/registry';
import { startRegistryTestServer } from '@sealroom/registry/testing';

const COMPRESSION = (process.argv[2] ?? 'gzip') as Compression;
const work = mkdtempSync(join(tmpdir(), 'sealroom-bench-build-'));
const mb = (bytes: number) => bytes / (1024 * 1024);
const time = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
};

try {
  const src = join(work, 'app');
  cpSync(join(import.meta.dirname, '..', 'packages', 'builder', 'fixtures', 'tiny-app'), src, { recursive: true });

  const [runtime, resolveSeconds] = await time(() => resolveNodeRuntime());
  const cache = createLayerCache();
  const [cold, coldSeconds] = await time(() =>
    buildImage({ dir: src, runtime, compression: COMPRESSION, layerCache: cache }),
  );
  const [warm, warmSeconds] = await time(() =>
    buildImage({ dir: src, runtime, compression: COMPRESSION, layerCache: cache }),
  );
  if (warm.digest !== cold.digest) throw new Error('warm build gave another digest');
  const imageBytes = cold.layers.reduce((sum, l) => sum + l.bytes.length, 0);

  const server = await startRegistryTestServer();
  const { accessToken } = await server.iam.createUser('bench@example.com');
  await server.iam.createProject('bench-proj', 'bench@example.com');
  await fetch(`${server.baseUrl}/v1/projects/bench-proj/locations/us-central1/repositories?repositoryId=images`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: accessToken });
  const [, pushSeconds] = await time(() => pushImage(client, cold, 'bench-proj/images/tiny', 'v1'));
  const [, pullSeconds] = await time(async () => {
    for (const layer of cold.layers) await client.getBlob('bench-proj/images/tiny', layer.digest);
  });
  await server.close();

  const nodePath = runtime.files[0]?.hostPath as string;
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': statSync(nodePath).size });
    createReadStream(nodePath).pipe(res);
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const barePort = (bare.address() as AddressInfo).port;
  const [, bareSeconds] = await time(async () => (await fetch(`http://127.0.0.1:${barePort}/`)).arrayBuffer());
  bare.close();
  const nodeBytes = statSync(nodePath).size;
  const [, copySeconds] = await time(() => copyFileSync(nodePath, join(work, 'node-copy')));
  const data = readFileSync(nodePath);
  const [, shaSeconds] = await time(() => createHash('sha256').update(data).digest());
  const [, digestSeconds] = await time(() => computeDigest(cold.layers[0]?.bytes ?? Buffer.alloc(0)));

  console.log(
    `image ${cold.digest} (${mb(imageBytes).toFixed(1)} MiB of ${COMPRESSION} layers; node binary ${mb(nodeBytes).toFixed(1)} MiB)`,
  );
  console.log(`resolve runtime (sha256 + dpkg checks)   ${resolveSeconds.toFixed(2)} s`);
  console.log(`build cold                               ${coldSeconds.toFixed(2)} s`);
  console.log(`build warm (runtime layer cached)        ${warmSeconds.toFixed(3)} s`);
  console.log(`registry push                            ${(mb(imageBytes) / pushSeconds).toFixed(0)} MiB/s`);
  console.log(`registry pull (digest-checked)           ${(mb(imageBytes) / pullSeconds).toFixed(0)} MiB/s`);
  console.log(
    `loopback HTTP GET, bare node:http+fetch  ${(mb(nodeBytes) / bareSeconds).toFixed(0)} MiB/s   <- machine limit`,
  );
  console.log(
    `raw disk copy of the node binary         ${(mb(nodeBytes) / copySeconds).toFixed(0)} MiB/s   <- machine limit`,
  );
  console.log(
    `SHA-256 in process                       ${(mb(nodeBytes) / shaSeconds).toFixed(0)} MiB/s   <- machine limit`,
  );
  console.log(
    `SHA-256 of the base layer blob           ${(mb(cold.layers[0]?.bytes.length ?? 0) / digestSeconds).toFixed(0)} MiB/s`,
  );
  await benchDockerfileBuilds();
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Copies every file of `paths` to `dest` (fresh names), as the disk's own speed for the same bytes. */
function copyFiles(paths: readonly string[], dest: string): number {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  let bytes = 0;
  for (const [i, path] of paths.entries()) {
    copyFileSync(path, join(dest, String(i)));
    bytes += statSync(path).size;
  }
  return bytes;
}

async function benchDockerfileBuilds(): Promise<void> {
  const unavailable = dockerfileBuildsUnavailable();
  if (unavailable) {
    console.log(`Dockerfile builds skipped: ${unavailable}`);
    return;
  }
  const server = await startRegistryTestServer();
  try {
    const { accessToken } = await server.iam.createUser('bench@example.com');
    await server.iam.createProject('bench-df', 'bench@example.com');
    await fetch(`${server.baseUrl}/v1/projects/bench-df/locations/us-central1/repositories?repositoryId=bases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const client = new RegistryClient({
      baseUrl: server.baseUrl,
      username: 'oauth2accesstoken',
      password: accessToken,
    });
    const [, basesSeconds] = await time(() => pushTestBaseImages(client, 'bench-df/bases'));
    console.log(
      `test base images (dpkg: busybox, gcc toolchain, cc-runtime), made and pushed  ${basesSeconds.toFixed(1)} s`,
    );
    const bases = registryBaseImages({ client, registry: server.host, repository: 'bench-df/bases' });
    const cProgram = join(work, 'c-program');
    mkdirSync(cProgram);
    writeFileSync(join(cProgram, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    writeFileSync(
      join(cProgram, 'Dockerfile'),
      'FROM toolchain:12 AS build\nCOPY hello.c /src/\nRUN gcc -O2 -static -o /hello /src/hello.c\n' +
        'FROM busybox:1.35\nCOPY --from=build /hello /usr/local/bin/hello\nENTRYPOINT ["/usr/local/bin/hello"]\n',
    );
    const repo = join(import.meta.dirname, '..');
    const cases = [
      { name: 'multi-stage C program', dir: cProgram, dockerfile: join(cProgram, 'Dockerfile') },
      { name: 'word-count workload', dir: repo, dockerfile: join(repo, 'examples', 'wordcount', 'Dockerfile') },
    ];
    for (const c of cases) {
      const cacheDir = join(work, `cache-${c.name.replace(/\W+/g, '-')}`);
      const options = { dir: c.dir, dockerfile: c.dockerfile, bases, cacheDir, sourceDateEpoch: 0 };
      const [cold, coldSeconds] = await time(() => buildDockerfileImage({ ...options, noCache: true }));
      const [warm, warmSeconds] = await time(() => buildDockerfileImage(options));
      if (warm.digest !== cold.digest) throw new Error('warm Dockerfile build gave another digest');
      const ownIgnore = `${c.dockerfile}.dockerignore`;
      const context = readBuildContext(c.dir, existsSync(ownIgnore) ? ownIgnore : undefined);
      const contextFiles = context.entries.filter((e) => e.type === 'file').map((e) => join(c.dir, e.path));
      const [contextBytes, contextCopySeconds] = await time(() => copyFiles(contextFiles, join(work, 'copy-context')));
      const layerDir = join(work, 'layers');
      mkdirSync(layerDir, { recursive: true });
      const layerFiles = cold.layers.map((l, i) => {
        const path = join(layerDir, `${i}`);
        writeFileSync(path, l.bytes);
        return path;
      });
      const [imageBytes, imageCopySeconds] = await time(() => copyFiles(layerFiles, join(work, 'copy-image')));
      console.log(`Dockerfile: ${c.name}  ${cold.digest}`);
      console.log(
        `  context ${mb(contextBytes).toFixed(1)} MiB in ${contextFiles.length} files; image ${mb(imageBytes).toFixed(1)} MiB in ${cold.layers.length} layers`,
      );
      console.log(`  build cold (--no-cache: engine, re-pack)   ${coldSeconds.toFixed(2)} s`);
      console.log(`  build warm (cached result)                 ${warmSeconds.toFixed(2)} s`);
      console.log(`  copy of the context's files on disk        ${contextCopySeconds.toFixed(2)} s   <- machine limit`);
      console.log(`  copy of the image's layer bytes on disk    ${imageCopySeconds.toFixed(2)} s   <- machine limit`);
    }
  } finally {
    await server.close();
  }
}
