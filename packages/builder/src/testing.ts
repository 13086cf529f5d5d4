// Base images for tests, made from this machine's Debian packages once per test run (the run's cache
// folder, SEALROOM_TEST_CACHE_DIR, is shared by its test processes) and pushed to a test registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OciDistribution, openOciLayout, pushFromLayout } from '@sealroom/formats';
import { writeImageToLayout } from './build.ts';
import { buildDebianBaseImage } from './debian-base.ts';

/** The images tests build on: name:tag in a base repository → the Debian packages it is made of. */
export const TEST_BASE_IMAGES = {
  'busybox:1.35': ['busybox-static'],
  'toolchain:12': ['gcc', 'libc6-dev', 'busybox-static'],
  'cc-runtime:bookworm': ['libc6', 'libstdc++6', 'libgcc-s1'],
} as const satisfies Record<string, readonly string[]>;

export type TestBaseName = keyof typeof TEST_BASE_IMAGES;

const PACKAGES = [...new Set(Object.values(TEST_BASE_IMAGES).flat())];
const WAIT_MS = 300_000;

/** Why Dockerfile builds cannot be tested here (no buildah, not root, no packages), or false. */
export function dockerfileBuildsUnavailable(): string | false {
  if (process.getuid?.() !== 0) return 'Dockerfile builds need root (buildah with chroot isolation)';
  if (spawnSync('buildah', ['--version']).status !== 0) return 'buildah is not installed (apt-get install buildah)';
  if (spawnSync('unshare', ['--net', 'true']).status !== 0) return 'unshare --net does not work here';
  const missing = PACKAGES.filter((p) => spawnSync('dpkg-query', ['-W', p]).status !== 0);
  return missing.length > 0 ? `Debian packages missing for test base images: ${missing.join(', ')}` : false;
}

let processCache: string | undefined;

/** The run's cache folder, or one for this process that is removed when it exits. */
export function testCacheDir(): string {
  const shared = process.env.SEALROOM_TEST_CACHE_DIR;
  if (shared) {
    mkdirSync(shared, { recursive: true });
    return shared;
  }
  if (processCache === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-test-cache-'));
    processCache = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processCache;
}

/** Content of the inputs: package versions and the code that assembles the images. */
function inputsKey(): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
  const versions = execFileSync('dpkg-query', ['-W', '-f=${Package}=${Version}\\n', ...PACKAGES], { encoding: 'utf8' });
  const hash = createHash('sha256').update(versions);
  for (const file of ['debian-base.ts', 'tar.ts', 'layer.ts', 'image.ts'])
    hash.update(readFileSync(join(import.meta.dirname, file)));
  return hash.digest('hex').slice(0, 16);
}

/** An OCI layout holding every test base image, named by `name:tag` with ':' as '-' (built once per run). */
export async function prepareTestBaseLayout(): Promise<string> {
  const dir = join(testCacheDir(), `bases-${inputsKey()}`);
  if (existsSync(join(dir, 'index.json'))) return dir;
  const lock = `${dir}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    // Another test process is building them: wait for its result (bounded).
    const deadline = Date.now() + WAIT_MS;
    while (!existsSync(join(dir, 'index.json'))) {
      if (Date.now() > deadline || !existsSync(lock))
        throw new Error('test base images were not built by the other process');
      await new Promise((r) => setTimeout(r, 250));
    }
    return dir;
  }
  try {
    const building = `${dir}.${process.pid}.tmp`;
    rmSync(building, { recursive: true, force: true });
    for (const [name, packages] of Object.entries(TEST_BASE_IMAGES)) {
      await writeImageToLayout(buildDebianBaseImage({ packages }), building, name.replace(':', '-'));
    }
    renameSync(building, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}

/** Pushes the test base images to `repository` (`PROJECT/REPOSITORY`) of the registry; returns their digests. */
export async function pushTestBaseImages(
  client: OciDistribution,
  repository: string,
): Promise<Record<TestBaseName, string>> {
  const layout = await openOciLayout(await prepareTestBaseLayout());
  const digests: Partial<Record<TestBaseName, string>> = {};
  for (const name of Object.keys(TEST_BASE_IMAGES) as TestBaseName[]) {
    const [image, tag] = name.split(':') as [string, string];
    const descriptor = await layout.resolve(name.replace(':', '-'));
    digests[name] = await pushFromLayout(client, layout, descriptor, `${repository}/${image}`, tag);
  }
  return digests as Record<TestBaseName, string>;
}
