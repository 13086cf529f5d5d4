// The word-count workload built from its Dockerfile (examples/wordcount/Dockerfile, context = the repository):
// the same digest from a second copy of the source in another folder under umask 077, and a bundle that runs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type BuiltImage,
  buildDockerfileImage,
  dockerfileBuildsUnavailable,
  pushTestBaseImages,
  readBuildContext,
  readTar,
  registryBaseImages,
} from '@sealroom/builder';
import { formatOutputPolicy, parseOutputPolicy, resolveRepoRoot } from '@sealroom/core';
import { RegistryClient } from '@sealroom/registry';
import { type RegistryTestServer, startRegistryTestServer } from '@sealroom/registry/testing';

const skip = dockerfileBuildsUnavailable();
const ROOT = resolveRepoRoot();
const DOCKERFILE = 'examples/wordcount/Dockerfile';
const EPOCH = 1_700_000_000;

let server: RegistryTestServer;
let client: RegistryClient;
let work: string;

/** Copies what the Dockerfile's context holds into `dest` under `umask`, in reverse order, with other mtimes. */
function copyContext(dest: string, umask: number): void {
  const context = readBuildContext(ROOT, join(ROOT, `${DOCKERFILE}.dockerignore`));
  const previous = process.umask(umask);
  try {
    mkdirSync(dest, { recursive: true });
    for (const entry of context.entries) {
      const target = join(dest, entry.path);
      if (entry.type === 'dir') mkdirSync(target, { recursive: true });
    }
    for (const entry of [...context.entries].reverse()) {
      const target = join(dest, entry.path);
      if (entry.type === 'symlink') symlinkSync(entry.target as string, target);
      else if (entry.type === 'file') {
        copyFileSync(join(ROOT, entry.path), target);
        utimesSync(target, new Date('2030-03-03'), new Date('2030-03-03'));
      }
    }
    for (const name of ['Dockerfile', 'Dockerfile.dockerignore'])
      copyFileSync(join(ROOT, 'examples', 'wordcount', name), join(dest, 'examples', 'wordcount', name));
  } finally {
    process.umask(previous);
  }
}

async function build(dir: string): Promise<BuiltImage> {
  return buildDockerfileImage({
    dir,
    dockerfile: join(dir, DOCKERFILE),
    bases: registryBaseImages({ client, registry: server.host, repository: 'builder-project/repo1' }),
    cacheDir: join(work, 'cache'),
    noCache: true,
    sourceDateEpoch: EPOCH,
    // Plain tar layers: the digest question is the same, without gzipping the node binary twice.
    compression: 'none',
  });
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'sr-e2e-wordcount-df-'));
  server = await startRegistryTestServer();
  const { accessToken } = await server.iam.createUser('builder@example.com');
  await server.iam.createProject('builder-project', 'builder@example.com');
  await fetch(`${server.baseUrl}/v1/projects/builder-project/locations/us-central1/repositories?repositoryId=repo1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: '{}',
  });
  client = new RegistryClient({ baseUrl: server.baseUrl, username: 'oauth2accesstoken', password: accessToken });
  await pushTestBaseImages(client, 'builder-project/repo1');
});

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the word-count workload as a Dockerfile build', { skip }, () => {
  test('gives one digest from the repository and from a copy elsewhere under umask 077; its bundle runs', async () => {
    const here = await build(ROOT);
    const copy = join(work, 'another', 'checkout');
    copyContext(copy, 0o077);
    const there = await build(copy);
    assert.equal(there.digest, here.digest);

    const config = here.config.config;
    assert.deepEqual(config?.Entrypoint, ['/usr/local/bin/node', '/app/index.mjs']);
    assert.equal(config?.WorkingDir, '/app');
    assert.equal(config?.Labels?.['tee.launch_policy.allow_env_override'], 'WORDCOUNT_CONFIG,WORDCOUNT_COLLABORATORS');
    assert.equal(config?.Labels?.['tee.launch_policy.log_redirect'], 'always');
    // The same output policy as the Node.js build's: the tutorial's conditions require it in the token.
    const buildConfig = JSON.parse(readFileSync(join(ROOT, 'examples', 'wordcount', 'sealroom.build.json'), 'utf8'));
    assert.equal(
      config?.Labels?.['sealroom.output_policy'],
      formatOutputPolicy(parseOutputPolicy(buildConfig.outputPolicy)),
    );
    assert.equal(here.layers.length, 2);
    const added = new Map(readTar(here.layers[1]?.bytes as Buffer).map((e) => [e.path, e]));
    const node = added.get('usr/local/bin/node');
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(node?.content as Buffer), sha(readFileSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'))));
    assert.equal(node?.mode, 0o755);

    // Every module the workload imports is in the bundle: it loads, and stops on the missing configuration.
    const bundle = join(work, 'index.mjs');
    writeFileSync(bundle, added.get('app/index.mjs')?.content as Buffer);
    const run = spawnSync(process.execPath, [bundle], {
      env: { WORDCOUNT_CONFIG: '{}' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /ERR_WORDCOUNT_BAD_CONFIG/);
  });
});
