// Putting a base image into a registry: from an OCI layout or `oci-archive` (read here, digests kept),
// a `docker-archive` or another registry (converted to an OCI layout by skopeo), or `dpkg:` packages
// of this machine (assembled here); then pushed with the registry client.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Descriptor,
  digestHex,
  type ImageManifest,
  isTag,
  OCI_LAYER_TAR,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  type OciDistribution,
  openOciLayout,
  parseDigest,
  pushFromLayout,
  REF_NAME_ANNOTATION,
} from '@sealroom/formats';
import { extractOciArchive } from './base-image.ts';
import { buildDebianBaseImage } from './debian-base.ts';
import { BuilderError } from './errors.ts';
import { pushImage } from './publish.ts';

export type ImportSource =
  | { readonly kind: 'oci' | 'oci-archive' | 'docker-archive'; readonly path: string; readonly ref?: string }
  | { readonly kind: 'docker'; readonly reference: string }
  | { readonly kind: 'dpkg'; readonly packages: readonly string[] };

const fail = (message: string): never => {
  throw new BuilderError('ERR_BUILDER_IMPORT', message);
};

/** `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`, `docker://REFERENCE`, `dpkg:PKG[,PKG…]`. */
export function parseImportSource(text: string): ImportSource {
  const colon = text.indexOf(':');
  const transport = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (transport === 'docker') {
    if (!rest.startsWith('//') || rest.length <= 2)
      fail(`'${text.slice(0, 200)}': a registry source is docker://HOST/NAME[:TAG|@DIGEST].`);
    return { kind: 'docker', reference: rest.slice(2) };
  }
  if (transport === 'dpkg') {
    const packages = rest
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (packages.length === 0 || packages.some((p) => !/^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/.test(p))) {
      fail(`'${text.slice(0, 200)}': dpkg: takes installed Debian package names, comma-separated.`);
    }
    return { kind: 'dpkg', packages };
  }
  if (transport === 'oci' || transport === 'oci-archive' || transport === 'docker-archive') {
    // A trailing `:REF` names one image of the layout or archive (so the path itself has no ':').
    const last = rest.lastIndexOf(':');
    const path = last < 0 ? rest : rest.slice(0, last);
    const ref = last < 0 || last === rest.length - 1 ? undefined : rest.slice(last + 1);
    if (path === '') fail(`'${text.slice(0, 200)}' names no path.`);
    return { kind: transport, path, ...(ref === undefined ? {} : { ref }) };
  }
  return fail(
    `Unknown image source '${text.slice(0, 200)}': use oci:DIR, oci-archive:FILE, docker-archive:FILE, docker://REFERENCE or dpkg:PACKAGES.`,
  );
}

/** The manifest a layout names `ref` (or its only manifest when no ref is given). */
async function pickManifest(layoutDir: string, ref: string | undefined): Promise<Descriptor> {
  const layout = await openOciLayout(layoutDir);
  if (ref !== undefined) return layout.resolve(ref);
  const { manifests } = await layout.readIndex();
  if (manifests.length !== 1) {
    const names = manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? m.digest).join(', ');
    return fail(`The layout holds ${manifests.length} images (${names.slice(0, 300)}); name one with :REF.`);
  }
  return manifests[0] as Descriptor;
}

function runSkopeo(args: readonly string[]): Promise<void> {
  return new Promise((done, reject) => {
    execFile('skopeo', args, { timeout: 30 * 60 * 1000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return done();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const line = String(stderr).trim().split('\n').filter(Boolean).at(-1) ?? error.message;
      reject(
        new BuilderError(
          'ERR_BUILDER_IMPORT',
          missing
            ? 'This source needs skopeo (Debian package `skopeo`), which is not installed.'
            : `skopeo could not read the image: ${line.slice(0, 400)}`,
        ),
      );
    });
  });
}

/** Pushes what `skopeo copy … dir:DIR` wrote: `manifest.json` and each blob under its hex digest. */
async function pushFromDir(
  client: OciDistribution,
  dir: string,
  repository: string,
  tag: string,
): Promise<ImportedImage> {
  const bytes = readFileSync(join(dir, 'manifest.json'));
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) fail('The registry image is not a single image manifest.');
  for (const blob of [manifest.config, ...manifest.layers]) {
    const hex = digestHex(parseDigest(blob.digest));
    await client.pushBlob(repository, readFileSync(join(dir, hex)), blob.digest);
  }
  const mediaType = manifest.mediaType ?? OCI_MANIFEST;
  return { digest: await client.pushManifest(repository, tag, bytes, mediaType), mediaType };
}

/**
 * skopeo 1.9 labels a docker-archive's plain tar layers `tar+gzip` when it writes them to an OCI layout
 * uncompressed; the media type is set from the bytes here (a new manifest: such an archive has no digest to keep).
 */
async function labelPlainLayers(layoutDir: string, ref: string): Promise<void> {
  const layout = await openOciLayout(layoutDir);
  const descriptor = await layout.resolve(ref);
  const manifest = JSON.parse((await layout.readBlob(descriptor.digest)).toString('utf8')) as ImageManifest;
  let changed = false;
  const layers = await Promise.all(
    manifest.layers.map(async (layer) => {
      const head = (await layout.readBlob(layer.digest)).subarray(0, 2);
      const gzip = head[0] === 0x1f && head[1] === 0x8b;
      if (layer.mediaType !== OCI_LAYER_TAR_GZIP || gzip) return layer;
      changed = true;
      return { ...layer, mediaType: OCI_LAYER_TAR };
    }),
  );
  if (!changed) return;
  const bytes = Buffer.from(JSON.stringify({ ...manifest, layers }));
  const { digest, size } = await layout.putBlob(bytes);
  await layout.addManifest({ mediaType: descriptor.mediaType, digest, size }, ref);
}

export interface ImportImageOptions {
  readonly source: ImportSource;
  readonly client: OciDistribution;
  /** Repository path inside the registry (`PROJECT/REPOSITORY/IMAGE`). */
  readonly repository: string;
  readonly tag?: string;
  /** For docker:// sources: a containers-auth.json with credentials for that registry (never argv). */
  readonly sourceAuthFile?: string;
  /** For docker:// sources on loopback: plain HTTP, as a local `docker-registry` serves. */
  readonly sourceInsecure?: boolean;
}

export interface ImportedImage {
  readonly digest: string;
  readonly mediaType: string;
  /** Packages of a dpkg: image (`name=version`). */
  readonly packages?: readonly string[];
}

/** Imports the image and pushes it as `repository:tag`; returns the pushed manifest's digest. */
export async function importImage(options: ImportImageOptions): Promise<ImportedImage> {
  const tag = options.tag ?? 'latest';
  if (!isTag(tag)) fail(`Invalid tag '${tag.slice(0, 140)}'.`);
  const source = options.source;
  if (source.kind === 'dpkg') {
    const image = buildDebianBaseImage({ packages: source.packages });
    await pushImage(options.client, image, options.repository, tag);
    return { digest: image.digest, mediaType: image.blobs.manifest.descriptor.mediaType, packages: image.packages };
  }
  if (source.kind === 'oci') {
    const dir = resolve(source.path);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      fail(`'${source.path.slice(0, 200)}' is not an OCI layout folder.`);
    const descriptor = await pickManifest(dir, source.ref);
    const layout = await openOciLayout(dir);
    const digest = await pushFromLayout(options.client, layout, descriptor, options.repository, tag);
    return { digest, mediaType: descriptor.mediaType };
  }
  const work = mkdtempSync(join(tmpdir(), 'sealroom-import-'));
  try {
    const layoutDir = join(work, 'layout');
    let ref = 'ref' in source ? source.ref : undefined;
    if (source.kind === 'docker') {
      // skopeo's `dir:` keeps the manifest as the registry served it, so the digest stays the upstream one.
      const copyDir = join(work, 'dir');
      await runSkopeo([
        'copy',
        '--quiet',
        '--preserve-digests',
        '--override-os',
        'linux',
        '--override-arch',
        'amd64',
        ...(options.sourceAuthFile === undefined ? [] : ['--src-authfile', resolve(options.sourceAuthFile)]),
        ...(options.sourceInsecure ? ['--src-tls-verify=false'] : []),
        `docker://${source.reference}`,
        `dir:${copyDir}`,
      ]);
      return await pushFromDir(options.client, copyDir, options.repository, tag);
    }
    if (source.kind === 'oci-archive') {
      const file = resolve(source.path);
      if (!existsSync(file) || !statSync(file).isFile()) fail(`'${source.path.slice(0, 200)}' is not a file.`);
      extractOciArchive(readFileSync(file), layoutDir);
    } else {
      if (!existsSync(resolve(source.path))) fail(`'${source.path.slice(0, 200)}' is not a file.`);
      const from = `docker-archive:${resolve(source.path)}${source.ref === undefined ? '' : `:${source.ref}`}`;
      // Layers stay plain tar, as the archive holds them: no compressor's bytes in the digest.
      await runSkopeo(['copy', '--quiet', '--dest-oci-accept-uncompressed-layers', from, `oci:${layoutDir}:import`]);
      await labelPlainLayers(layoutDir, 'import');
      ref = 'import';
    }
    const descriptor = await pickManifest(layoutDir, ref);
    const digest = await pushFromLayout(
      options.client,
      await openOciLayout(layoutDir),
      descriptor,
      options.repository,
      tag,
    );
    return { digest, mediaType: descriptor.mediaType };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
