// `sealroom build` of a Dockerfile and `artifacts docker images import` against a live server.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerfileBuildsUnavailable, prepareTestBaseLayout } from '@sealroom/builder';
import { runCli } from '../main.ts';
import { type CliTestBed, startCliTestBed } from '../testing.ts';

const unavailable = dockerfileBuildsUnavailable();
let bed: CliTestBed;
let host: string;
const ok = (...argv: string[]) => bed.ok(...argv);

const DOCKERFILE = `FROM busybox:1.35
COPY greeting.txt /etc/greeting
LABEL "tee.launch_policy.allow_cmd_override"="true"
CMD ["cat", "/etc/greeting"]
`;

function writeApp(name: string, dockerfile = DOCKERFILE): string {
  const app = join(bed.dir, name);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'Dockerfile'), dockerfile);
  writeFileSync(join(app, 'greeting.txt'), 'hello\n');
  return app;
}

before(async () => {
  if (unavailable) return;
  bed = await startCliTestBed({ name: 'dockerfile' });
  host = new URL(bed.server.url).host;
  await ok('auth', 'login', 'builder@example.com');
  await ok('projects', 'create', 'builder-df');
  await ok('config', 'set', 'project', 'builder-df');
  await ok('artifacts', 'repositories', 'create', 'repo1', '--repository-format=docker', '--location=us-central1');
});

after(() => bed?.close());

describe('Dockerfile builds from the command line', { skip: unavailable }, () => {
  it('imports base images from Debian packages and from an OCI layout', async () => {
    const imported = JSON.parse(
      await ok(
        'artifacts',
        'docker',
        'images',
        'import',
        'dpkg:busybox-static',
        `${host}/builder-df/repo1/busybox:1.35`,
        '--format=json',
      ),
    );
    assert.match(imported.digest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(imported.imageReference, `${host}/builder-df/repo1/busybox@${imported.digest}`);
    assert.match(imported.packages[0], /^busybox-static=/);
    const layout = await prepareTestBaseLayout();
    const toolchain = JSON.parse(
      await ok(
        'artifacts',
        'docker',
        'images',
        'import',
        `oci:${layout}:toolchain-12`,
        `${host}/builder-df/repo1/toolchain:12`,
        '--format=json',
      ),
    );
    const listed = JSON.parse(
      await ok('artifacts', 'docker', 'images', 'list', `${host}/builder-df/repo1`, '--format=json'),
    );
    assert.ok(listed.some((i: { uri: string }) => i.uri.endsWith(`@${toolchain.digest}`)));
  });

  it('builds a folder with a Dockerfile against the tag’s repository, pushes it, and prints the steps', async () => {
    const app = writeApp('app');
    const result = await bed.cli('build', app, `--tag=${host}/builder-df/repo1/greeter:v1`, '--format=json');
    assert.equal(result.code, 0, result.stderr);
    const built = JSON.parse(result.stdout);
    assert.equal(built.imageReference, `${host}/builder-df/repo1/greeter@${built.digest}`);
    assert.equal(built.layers.length, 2);
    assert.match(result.stderr, /^STEP 1\/4: FROM busybox:1\.35$/m);
    assert.match(result.stderr, /^STEP 2\/4: COPY greeting\.txt \/etc\/greeting$/m);
    assert.match(result.stderr, /^Pushed /m);
    const described = JSON.parse(
      await ok('artifacts', 'docker', 'images', 'describe', `${host}/builder-df/repo1/greeter:v1`, '--format=json'),
    );
    assert.equal(described.image_summary.digest, built.digest);

    // The same source elsewhere, rebuilt from scratch, is the same image.
    const copy = join(bed.dir, 'elsewhere', 'app');
    cpSync(app, copy, { recursive: true });
    const rebuilt = JSON.parse(
      await ok('build', copy, `--base-repository=${host}/builder-df/repo1`, '--no-cache', '--no-push', '--format=json'),
    );
    assert.equal(rebuilt.digest, built.digest);
  });

  it('draws a step bar on a terminal', async () => {
    const app = writeApp('tty', `${DOCKERFILE}ENV MODE=tty\n`);
    let stderr = '';
    const code = await runCli(['build', app, `--base-repository=${host}/builder-df/repo1`, '--no-push'], {
      env: bed.env,
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
      stderrIsTty: true,
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /\r\x1b\[2K\[#+\.*\] 2\/5 STEP 2\/5: COPY/);
  });

  it('names the line of a missing base image and pushes nothing', async () => {
    const app = writeApp('broken', 'FROM busybox:1.35\n\nFROM nothere:1 AS second\nCOPY greeting.txt /\n');
    const result = await bed.cli('build', app, `--tag=${host}/builder-df/repo1/broken:v1`);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `Dockerfile line 3: FROM nothere:1: there is no ${host}/builder-df/repo1/nothere:1\\. Import it first`,
      ),
    );
    const listed = JSON.parse(
      await ok('artifacts', 'docker', 'images', 'list', `${host}/builder-df/repo1/broken`, '--format=json'),
    );
    assert.deepEqual(listed, []);
  });

  it('builds only the stages --target needs: a later stage’s missing base is not looked for', async () => {
    const app = writeApp(
      'target',
      'FROM busybox:1.35 AS app\nCOPY greeting.txt /etc/greeting\n\nFROM nothere:1 AS later\nCOPY greeting.txt /\n',
    );
    const repo = `--base-repository=${host}/builder-df/repo1`;
    const built = JSON.parse(await ok('build', app, repo, '--target=app', '--no-push', '--format=json'));
    assert.equal(built.layers.length, 2);
    const whole = await bed.cli('build', app, repo, '--no-push');
    assert.equal(whole.code, 1);
    assert.match(whole.stderr, /Dockerfile line 4: FROM nothere:1: there is no /);
    const unknown = await bed.cli('build', app, repo, '--target=missing', '--no-push');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /--target 'missing' names no stage of the Dockerfile/);
  });

  it('keeps Node.js and Dockerfile flags apart, and a sealroom.build.json keeps a folder a Node.js build', async () => {
    const app = writeApp('flags');
    const nodeFlag = await bed.cli('build', app, '--config=x.json', '--no-push');
    assert.equal(nodeFlag.code, 2);
    assert.match(nodeFlag.stderr, /--config is for Node\.js builds/);
    const node = join(bed.dir, 'node-app');
    cpSync(join(import.meta.dirname, '..', '..', '..', 'builder', 'fixtures', 'tiny-app'), node, { recursive: true });
    writeFileSync(join(node, 'Dockerfile'), DOCKERFILE);
    const dockerFlag = await bed.cli('build', node, '--build-arg=A=1', '--no-push');
    assert.equal(dockerFlag.code, 2);
    assert.match(dockerFlag.stderr, /--build-arg is for Dockerfile builds/);
  });
});
