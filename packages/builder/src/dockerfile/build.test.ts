// Dockerfile builds for real: buildah, base images from this machine's Debian packages in a test registry.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text, whose ${VAR} is the engine's, not a template.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { RegistryClient } from '@sealroom/registry';
import { type RegistryTestServer, startRegistryTestServer } from '@sealroom/registry/testing';
import { buildProvenancePredicate, buildSbomPredicate } from '../attestation.ts';
import { BuilderError } from '../errors.ts';
import { readTar } from '../tar.ts';
import { dockerfileBuildsUnavailable, pushTestBaseImages, type TestBaseName } from '../testing.ts';
import { registryBaseImages } from './bases.ts';
import { type BuildProgress, buildDockerfileImage, type DockerfileBuildOptions, readCommitEpoch } from './build.ts';

const unavailable = dockerfileBuildsUnavailable();
const PROJECT = 'builder-project';

const HELLO_C = `#include <stdio.h>
#include <stdlib.h>
int main(void) {
  const char *greeting = getenv("GREETING");
  printf("%s from C\\n", greeting ? greeting : "hello");
  return 0;
}
`;

const DOCKERFILE = `# A C program compiled in one stage and run from a small one.
ARG TOOLCHAIN=toolchain:12
FROM \${TOOLCHAIN} AS build
WORKDIR /src
COPY hello.c build.sh ./
RUN ./build.sh

FROM busybox:1.35
ARG GREETING=hello
COPY --from=build /out/hello /usr/local/bin/hello
RUN mkdir -p /var/lib/hello && hello > /var/lib/hello/state
LABEL "tee.launch_policy.allow_env_override"="GREETING" \\
      org.opencontainers.image.title="hello"
ENV GREETING=\${GREETING}
EXPOSE 8080
USER 1000
ENTRYPOINT ["/usr/local/bin/hello"]
`;

let server: RegistryTestServer;
let client: RegistryClient;
let work: string;
let baseDigests: Record<TestBaseName, string>;

/** The source tree, written in `order` under `umask`, every mtime set to `mtime`. */
function writeSource(dir: string, umask: number, reverse: boolean, mtime: Date): string {
  const previous = process.umask(umask);
  try {
    const files: [string, string, number][] = [
      ['Dockerfile', DOCKERFILE, 0o666],
      ['hello.c', HELLO_C, 0o666],
      ['build.sh', '#!/bin/sh\nset -e\nmkdir -p /out\ngcc -O2 -static -o /out/hello hello.c\n', 0o777],
      ['README.md', 'not part of the image\n', 0o666],
      ['.dockerignore', 'README.md\n', 0o666],
    ];
    mkdirSync(dir, { recursive: true });
    for (const [path, text, mode] of reverse ? [...files].reverse() : files) {
      writeFileSync(join(dir, path), text, { mode });
      utimesSync(join(dir, path), mtime, mtime);
    }
  } finally {
    process.umask(previous);
  }
  return dir;
}

function options(dir: string, extra: Partial<DockerfileBuildOptions> = {}): DockerfileBuildOptions {
  return {
    dir,
    bases: registryBaseImages({ client, registry: server.host, repository: `${PROJECT}/bases` }),
    cacheDir: join(work, 'cache'),
    sourceDateEpoch: 1_700_000_000,
    ...extra,
  };
}

before(async () => {
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'sr-dockerfile-'));
  server = await startRegistryTestServer();
  const { accessToken } = await server.iam.createUser('builder@example.com');
  await server.iam.createProject(PROJECT, 'builder@example.com');
  await fetch(`${server.baseUrl}/v1/projects/${PROJECT}/locations/us-central1/repositories?repositoryId=bases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: '{}',
  });
  client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: accessToken });
  baseDigests = await pushTestBaseImages(client, `${PROJECT}/bases`);
});

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('buildDockerfileImage', { skip: unavailable }, () => {
  it('gives one digest for a multi-stage build in two folders, under two umasks, at two times, on overlay and vfs', async () => {
    const a = await buildDockerfileImage(
      options(writeSource(join(work, 'a'), 0o022, false, new Date('2001-01-01')), { noCache: true }),
    );
    const previous = process.umask(0o077);
    let b: typeof a;
    try {
      b = await buildDockerfileImage(
        options(writeSource(join(work, 'other', 'place', 'b'), 0o077, true, new Date('2025-05-05')), {
          noCache: true,
          storageDriver: 'vfs',
        }),
      );
    } finally {
      process.umask(previous);
    }
    assert.equal(b.digest, a.digest);
    assert.equal(b.inputs.kind === 'dockerfile' && b.inputs.engine.storageDriver, 'vfs');

    // The base layer is the imported busybox layer, byte for byte; the build added one canonical layer.
    assert.equal(a.layers.length, 2);
    const busybox = JSON.parse(
      (await client.getManifest(`${PROJECT}/bases/busybox`, baseDigests['busybox:1.35'])).bytes.toString(),
    );
    assert.equal(a.layers[0]?.digest, busybox.layers[0].digest);
    const added = readTar(gunzipSync(a.layers[1]?.bytes as Buffer));
    // Only what the build added: no mount points the engine made for the RUN (/etc/hosts, /proc, …).
    assert.deepEqual(
      added.map((e) => [e.path, e.mode.toString(8), e.uid, e.gid, e.mtime]),
      [
        ['usr/', '755', 0, 0, 1_700_000_000],
        ['usr/local/', '755', 0, 0, 1_700_000_000],
        ['usr/local/bin/', '755', 0, 0, 1_700_000_000],
        ['usr/local/bin/hello', '755', 0, 0, 1_700_000_000],
        ['var/', '755', 0, 0, 1_700_000_000],
        ['var/lib/', '755', 0, 0, 1_700_000_000],
        ['var/lib/hello/', '755', 0, 0, 1_700_000_000],
        ['var/lib/hello/state', '644', 0, 0, 1_700_000_000],
      ],
    );
    assert.equal(added[7]?.content.toString(), 'hello from C\n');
    // The compile stage really ran: the static binary works here too.
    const binary = join(work, 'hello');
    writeFileSync(binary, added[3]?.content as Buffer);
    chmodSync(binary, 0o755);
    assert.equal(execFileSync(binary, { env: { GREETING: 'bonjour' }, encoding: 'utf8' }), 'bonjour from C\n');

    const config = a.config;
    assert.equal(config.created, '2023-11-14T22:13:20Z');
    assert.equal(config.config?.User, '1000');
    assert.deepEqual(config.config?.Entrypoint, ['/usr/local/bin/hello']);
    assert.deepEqual(config.config?.ExposedPorts, { '8080/tcp': {} });
    assert.ok(config.config?.Env?.includes('GREETING=hello'));
    assert.equal(config.config?.Labels?.['tee.launch_policy.allow_env_override'], 'GREETING');
    assert.equal(config.config?.Labels?.['io.buildah.version'], undefined);
    assert.ok(config.history?.slice(1).every((h) => h.created === '2023-11-14T22:13:20Z' && h.comment === undefined));
    assert.equal(config.history?.filter((h) => !h.empty_layer).length, 2);
    assert.equal(config.history?.length, 1 + 8, "the base's entry, then one per instruction after FROM");
    // In the author's words, not the engine's (#(nop), content hashes), which vary with its version.
    assert.deepEqual(
      config.history?.slice(1).map((h) => h.created_by),
      [
        'ARG GREETING=hello',
        'COPY --from=build /out/hello /usr/local/bin/hello',
        'RUN mkdir -p /var/lib/hello && hello > /var/lib/hello/state',
        'LABEL "tee.launch_policy.allow_env_override"="GREETING"       org.opencontainers.image.title="hello"',
        'ENV GREETING=${GREETING}',
        'EXPOSE 8080',
        'USER 1000',
        'ENTRYPOINT ["/usr/local/bin/hello"]',
      ],
    );
  });

  it('records the Dockerfile, the build args, the pinned bases and the engine in provenance; the SBOM lists the image’s packages', async () => {
    const image = await buildDockerfileImage(
      options(writeSource(join(work, 'prov'), 0o022, false, new Date()), { buildArgs: { GREETING: 'hi' } }),
    );
    assert.ok(image.config.config?.Env?.includes('GREETING=hi'));
    const predicate = buildProvenancePredicate(image) as unknown as {
      buildDefinition: {
        buildType: string;
        externalParameters: { dockerfile: { digest: { sha256: string } }; buildArgs: Record<string, string> };
        internalParameters: { engine: string; network: string };
        resolvedDependencies: { name: string; uri: string; digest: { sha256: string } }[];
      };
    };
    const def = predicate.buildDefinition;
    assert.equal(def.buildType, 'https://sealroom.dev/build/dockerfile/v1');
    assert.equal(def.externalParameters.dockerfile.digest.sha256.length, 64);
    assert.deepEqual(def.externalParameters.buildArgs, { GREETING: 'hi' });
    assert.match(def.internalParameters.engine, /^buildah@\d+\.\d+/);
    assert.equal(def.internalParameters.network, 'none');
    assert.deepEqual(
      def.resolvedDependencies.map((d) => [d.name, d.uri]),
      [
        [
          'Dockerfile:3 FROM ${TOOLCHAIN}',
          `oci://${server.host}/${PROJECT}/bases/toolchain@${baseDigests['toolchain:12']}`,
        ],
        [
          'Dockerfile:8 FROM busybox:1.35',
          `oci://${server.host}/${PROJECT}/bases/busybox@${baseDigests['busybox:1.35']}`,
        ],
      ],
    );
    const sbom = buildSbomPredicate(image) as {
      metadata: { component: { type: string; name: string } };
      components: { purl: string }[];
    };
    assert.deepEqual(sbom.metadata.component, {
      type: 'container',
      'bom-ref': 'hello@0.0.0',
      name: 'hello',
      version: '0.0.0',
    });
    assert.deepEqual(
      sbom.components.map((c) => c.purl.replace(/@.*/, '')),
      ['pkg:deb/debian/busybox-static'],
    );
  });

  it('reuses the result of an unchanged source and Dockerfile, and rebuilds when one byte changes', async () => {
    const dir = writeSource(join(work, 'cached'), 0o022, false, new Date());
    const events: BuildProgress[] = [];
    const cacheDir = join(work, 'own-cache');
    const first = await buildDockerfileImage(options(dir, { cacheDir, onProgress: (e) => events.push(e) }));
    assert.ok(events.some((e) => e.phase === 'engine' && e.overall !== undefined && e.overall.total === 13));
    events.length = 0;
    const second = await buildDockerfileImage(options(dir, { cacheDir, onProgress: (e) => events.push(e) }));
    assert.equal(second.digest, first.digest);
    assert.deepEqual(
      events.map((e) => e.phase),
      ['resolve', 'context', 'cache'],
    );
    writeFileSync(join(dir, 'hello.c'), HELLO_C.replace('from C', 'from  C'));
    events.length = 0;
    const third = await buildDockerfileImage(options(dir, { cacheDir, onProgress: (e) => events.push(e) }));
    assert.notEqual(third.digest, first.digest);
    assert.ok(events.some((e) => e.phase === 'engine'));
  });

  it('names the Dockerfile line of a missing base image, a RUN that needs the network, and an instruction the engine rejects', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'FROM busybox:1.35\nCOPY --from=tools:9 /bin/tool /bin/tool\n',
        'ERR_BUILDER_BASE_IMAGE',
        new RegExp(
          `^Dockerfile line 2: COPY --from tools:9: there is no ${server.host}/${PROJECT}/bases/tools:9\\. Import it first: sealroom artifacts docker images import SOURCE ${server.host}/${PROJECT}/bases/tools:9$`,
        ),
      ],
      [
        'FROM busybox:1.35\nRUN true\nRUN wget -q -O /tmp/x http://example.com/ \\\n && echo fetched\n',
        'ERR_BUILDER_RUN_FAILED',
        /^Dockerfile line 3: RUN wget .*: the step needs the network \(wget: bad address 'example\.com'\), and builds have none\./,
      ],
      [
        'FROM busybox:1.35\n\nFROB /x\n',
        'ERR_BUILDER_DOCKERFILE',
        /^Dockerfile line 3: FROB \/x: the engine rejected it: .*Unknown instruction: "FROB"/,
      ],
    ];
    for (const [text, code, message] of cases) {
      const dir = join(work, `fail-${code}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'Dockerfile'), text);
      await assert.rejects(
        buildDockerfileImage(options(dir, { noCache: true })),
        (e: unknown) => e instanceof BuilderError && e.code === code && message.test(e.message),
        text,
      );
    }
  });

  it('stops a build at its time limit, naming the step, and leaves nothing of it running', async () => {
    const dir = join(work, 'slow');
    mkdirSync(dir, { recursive: true });
    const marker = `sealroom-slow-${process.pid}`;
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox:1.35\nRUN sleep 600 && echo ${marker}\n`);
    await assert.rejects(
      buildDockerfileImage(options(dir, { noCache: true, timeoutMs: 4_000 })),
      (e: unknown) =>
        e instanceof BuilderError &&
        e.code === 'ERR_BUILDER_ENGINE' &&
        /^Dockerfile line 2: RUN sleep 600 .*: the build exceeded its limit of 4 s and was stopped\.$/.test(e.message),
    );
    const running = () =>
      readdirSync('/proc')
        .filter((pid) => /^\d+$/.test(pid))
        .some((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
          } catch {
            return false;
          }
        });
    for (let i = 0; i < 20 && running(); i++) await new Promise((r) => setTimeout(r, 250));
    assert.equal(running(), false);
  });

  it('takes SOURCE_DATE_EPOCH from the last commit of the source when none is given', async () => {
    const dir = writeSource(join(work, 'git'), 0o022, false, new Date());
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
      GIT_COMMITTER_DATE: '2024-02-03T04:05:06Z',
      GIT_AUTHOR_DATE: '2024-02-03T04:05:06Z',
    };
    for (const args of [
      ['init', '-q'],
      ['add', '.'],
      ['commit', '-q', '-m', 'source'],
    ])
      execFileSync('git', ['-C', dir, ...args], { env });
    assert.equal(readCommitEpoch(dir), Date.parse('2024-02-03T04:05:06Z') / 1000);
    assert.equal(readCommitEpoch(tmpdir()), undefined);
    const { sourceDateEpoch: _, ...rest } = options(dir);
    const image = await buildDockerfileImage({ ...rest, noCache: true });
    assert.equal(image.config.created, '2024-02-03T04:05:06Z');
  });
});
