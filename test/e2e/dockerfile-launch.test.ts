// A Dockerfile-built image end to end: base images imported, a multi-stage C build pushed, rebuilt from
// scratch elsewhere to the same digest, run on an instance whose token names that digest; the launch
// policy labels written in the Dockerfile are enforced by the launcher.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dockerfileBuildsUnavailable, prepareTestBaseLayout } from '@sealroom/builder';
import type { CliTestBed } from '@sealroom/cli/testing';
import {
  grantOperatorServiceAccount,
  isolationMissing,
  type Json,
  SA,
  startLaunchBed,
  WAIT_MS,
  ZONE,
} from '../support/launch.ts';

/** The workload: prints the token's claims segment and its GREETING, as a static C program. */
const CLAIMS_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  const char *dir = getenv("SEALROOM_CONTAINER_LAUNCHER_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/attestation_verifier_claims_token", dir ? dir : "/run/container_launcher");
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); return 2; }
  static char token[65536];
  size_t n = fread(token, 1, sizeof token - 1, f);
  token[n] = 0;
  fclose(f);
  char *payload = strchr(token, '.');
  if (!payload) return 3;
  payload++;
  char *end = strchr(payload, '.');
  if (end) *end = 0;
  printf("CLAIMS %s\\n", payload);
  printf("GREETING %s\\n", getenv("GREETING") ? getenv("GREETING") : "");
  return 0;
}
`;

const DOCKERFILE = `FROM toolchain:12 AS build
WORKDIR /src
COPY claims.c .
RUN gcc -O2 -static -o /claims claims.c

FROM busybox:1.35
COPY --from=build /claims /usr/local/bin/claims
ENV GREETING=hello
LABEL "tee.launch_policy.allow_env_override"="GREETING" \\
      "tee.launch_policy.log_redirect"="always"
ENTRYPOINT ["/usr/local/bin/claims"]
`;

const skip = dockerfileBuildsUnavailable() || isolationMissing();
let bed: CliTestBed | undefined;
let host: string;
let built: Json;
let rebuilt: Json;

const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);

async function waitTerminated(name: string): Promise<Json> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const vm = JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
    if (vm.status === 'TERMINATED') return vm;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function createLine(name: string, image: string, metadata: string): string[] {
  return [
    'compute',
    'instances',
    'create',
    name,
    '--confidential-compute',
    '--shielded-secure-boot',
    `--zone=${ZONE}`,
    '--image-project=confidential-space-images',
    '--image-family=confidential-space',
    `--service-account=${SA}`,
    '--metadata',
    `^~^tee-image-reference=${image}~tee-container-log-redirect=true~tee-restart-policy=Never~${metadata}`,
  ];
}

before(async () => {
  if (skip) return;
  bed = await startLaunchBed('e2e-dockerfile');
  const dir = bed.dir;
  host = new URL(bed.server.url).host;
  const layout = await prepareTestBaseLayout();
  for (const name of ['busybox:1.35', 'toolchain:12'])
    await ok(
      'artifacts',
      'docker',
      'images',
      'import',
      `oci:${layout}:${name.replace(':', '-')}`,
      `${host}/builder-project/repo1/${name}`,
    );

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(app, 'claims.c'), CLAIMS_C);
  built = JSON.parse(await ok('build', app, `--tag=${host}/builder-project/repo1/claims:v1`, '--format=json'));

  // A collaborator's rebuild check: another checkout, another umask, other times, no cache, nothing pushed.
  const previous = process.umask(0o077);
  try {
    const copy = join(dir, 'collaborator', 'checkout');
    cpSync(app, copy, { recursive: true });
    for (const name of readdirSync(copy)) utimesSync(join(copy, name), new Date('2030-01-01'), new Date('2030-01-01'));
    rebuilt = JSON.parse(
      await ok(
        'build',
        copy,
        `--base-repository=${host}/builder-project/repo1`,
        '--no-cache',
        '--no-push',
        '--format=json',
      ),
    );
  } finally {
    process.umask(previous);
  }

  await grantOperatorServiceAccount(bed);
});

after(async () => {
  await bed?.close();
});

describe('an image built from a Dockerfile on an instance', { skip }, () => {
  test('rebuilt elsewhere from scratch it has the same digest, and the token of its instance names it', async () => {
    assert.equal(rebuilt.digest, built.digest);
    const image = `${host}/builder-project/repo1/claims@${built.digest}`;
    await ok(...createLine('df-vm', image, 'tee-env-GREETING=bonjour'));
    const vm = await waitTerminated('df-vm');
    const serial = await ok('compute', 'instances', 'get-serial-port-output', 'df-vm', `--zone=${ZONE}`);
    assert.equal(vm.confidentialSpace.lastExitCode, 0, serial);
    const payload = /workload stdout: CLAIMS (\S+)/.exec(serial)?.[1];
    assert.ok(payload, serial);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    assert.equal(claims.submods.container.image_digest, rebuilt.digest);
    assert.equal(claims.submods.container.image_reference, image);
    assert.deepEqual(claims.submods.container.args, ['/usr/local/bin/claims']);
    assert.deepEqual(claims.submods.container.env_override, { GREETING: 'bonjour' });
    assert.match(serial, /workload stdout: GREETING bonjour/);
  });

  test('an env override the Dockerfile’s launch policy label does not allow is refused before the workload starts', async () => {
    await ok(...createLine('df-refused', `${host}/builder-project/repo1/claims@${built.digest}`, 'tee-env-OTHER=x'));
    const vm = await waitTerminated('df-refused');
    const serial = await ok('compute', 'instances', 'get-serial-port-output', 'df-refused', `--zone=${ZONE}`);
    assert.equal(vm.confidentialSpace.lastExitCode, 1, serial);
    assert.match(serial, /OTHER/);
    assert.doesNotMatch(serial, /workload stdout/);
  });
});
