// `sealroom build | sign | verify-image | attest`: reproducible images (Dockerfile or Node.js), cosign-compatible signatures
// (files or KMS keys), k-of-n verification, and in-toto attestations under the `.att` tag.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  attestImage,
  type BuiltImage,
  buildImage,
  type Compression,
  buildProvenancePredicate,
  buildSbomPredicate,
  CYCLONEDX_MEDIA_TYPE,
  openRuntimeCache,
  runtimeCacheDir,
  fetchAttachments,
  PREDICATE_TYPES,
  pushAttachments,
  pushImage,
  pushReferrer,
  signImage,
  toCustomRuntime,
  verifyImageSignatures,
  writeImageToLayout,
} from '@sealroom/builder';
import { isDigest } from '@sealroom/formats';
import { formatImageReference, type ImageReference } from '@sealroom/registry';
import type { CommandContext, CommandSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { runStep } from '../steps.ts';
import { DOCKERFILE_FLAGS, runDockerfileBuild, wantsDockerfile } from './dockerfile-build.ts';
import { loadSigner, loadTrustedKey, parseImageArg, registryClientFor } from './supply-chain-helpers.ts';

const KEY_FLAG = {
  type: 'string',
  description: 'Private key PEM file, or kms://projects/…/cryptoKeyVersions/N.',
  required: true,
} as const;
/** cosign's `--type` names (cmd/cosign/cli/options/predicate.go) for the predicates Sealroom writes. */
const PREDICATE_TYPE_NAMES: Readonly<Record<string, string>> = {
  slsaprovenance1: PREDICATE_TYPES.provenance,
  cyclonedx: PREDICATE_TYPES.cyclonedx,
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];

/** The Node.js build: esbuild bundle on the pinned runtime (or a base image pinned by digest). */
async function runNodeBuild(
  ctx: CommandContext,
  dir: string,
  epoch: number | undefined,
  compression: Compression | undefined,
): Promise<BuiltImage> {
  for (const flag of Object.keys(DOCKERFILE_FLAGS)) {
    if (ctx.flags[flag] !== undefined)
      throw new UsageError(`--${flag} is for Dockerfile builds; ${dir} has no Dockerfile.`);
  }
  const nodeBinary = ctx.flags['node-binary'] as string | undefined;
  const baseMatch =
    ctx.flags.base === undefined ? undefined : /^oci(?:-archive)?:(.+)@([^@]+)$/.exec(String(ctx.flags.base));
  if (ctx.flags.base !== undefined && !(baseMatch && isDigest(baseMatch[2])))
    throw new UsageError('--base takes oci:LAYOUT_DIR@sha256:<digest> or oci-archive:FILE.tar@sha256:<digest>.');
  // The runtime base of the pinned Node is the same from build to build: the host's cache keeps it.
  const cacheDir = nodeBinary === undefined && !baseMatch ? runtimeCacheDir(ctx.env) : undefined;
  const cache = cacheDir === undefined ? undefined : openRuntimeCache(cacheDir);
  return buildImage({
    dir,
    ...(cache ? { runtime: () => cache.resolveNodeRuntime(dir), layerCache: cache.layers } : {}),
    ...(ctx.flags.config === undefined ? {} : { configPath: resolve(String(ctx.flags.config)) }),
    ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
    ...(compression === undefined ? {} : { compression }),
    ...(baseMatch ? { base: { layoutDir: resolve(baseMatch[1] as string), digest: baseMatch[2] as string } } : {}),
    ...(nodeBinary === undefined
      ? {}
      : {
          runtime: toCustomRuntime([{ imagePath: '/usr/local/bin/node', hostPath: resolve(nodeBinary), mode: 0o755 }]),
        }),
  });
}

/** Writes the layout and predicates asked for, pushes (nothing is pushed unless the build succeeded), describes. */
async function publishBuilt(ctx: CommandContext, image: BuiltImage, ref: ImageReference | undefined) {
  if (ctx.flags['oci-layout'] !== undefined)
    await writeImageToLayout(image, resolve(String(ctx.flags['oci-layout'])), ref?.tag);
  if (ctx.flags['predicates-dir'] !== undefined) {
    const dir = resolve(String(ctx.flags['predicates-dir']));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'provenance.json'), JSON.stringify(buildProvenancePredicate(image), null, 2));
    writeFileSync(join(dir, 'sbom.cdx.json'), JSON.stringify(buildSbomPredicate(image), null, 2));
  }
  if (ref !== undefined && ctx.flags.push !== false) {
    const client = await registryClientFor(ctx, ref);
    await runStep(
      ctx,
      `pushing ${image.digest}`,
      () => pushImage(client, image, ref.repository, ref.tag ?? 'latest'),
      () => `pushed image ${image.digest}`,
    );
    if (ctx.flags['attach-sbom'] === true) {
      const payload = Buffer.from(JSON.stringify(buildSbomPredicate(image)));
      await pushReferrer(client, ref.repository, image.blobs.manifest.descriptor, {
        artifactType: CYCLONEDX_MEDIA_TYPE,
        payload,
      });
    }
    ctx.err(`Pushed ${formatImageReference({ ...ref, digest: image.digest })}`);
  }
  return {
    imageReference:
      ref === undefined
        ? undefined
        : formatImageReference({ registry: ref.registry, repository: ref.repository, digest: image.digest }),
    digest: image.digest,
    configDigest: image.configDigest,
    layers: image.layers.map((l) => ({
      digest: l.digest,
      diffId: l.diffId,
      mediaType: l.mediaType,
      size: l.bytes.length,
    })),
  };
}

export const buildCommands: CommandSpec[] = [
  {
    path: ['build'],
    summary:
      'Builds a workload image reproducibly (a Dockerfile with buildah, or a Node.js app) and pushes it (prints imageReference, digest, configDigest, layers).',
    args: [{ name: 'DIR', required: true }],
    flags: {
      tag: { type: 'string', description: 'REGISTRY/PROJECT/REPOSITORY/IMAGE:TAG to push to.' },
      config: { type: 'string', description: 'Node.js build config file (default DIR/sealroom.build.json).' },
      'source-date-epoch': {
        type: 'string',
        description:
          'Timestamp for every file and the config (default SOURCE_DATE_EPOCH; then, for a Dockerfile, the last commit time of DIR; else 0).',
      },
      compression: { type: 'string', description: "Layer compression: 'gzip' (default) or 'none'." },
      'oci-layout': { type: 'string', description: 'Also write the image into this OCI image layout folder.' },
      'predicates-dir': {
        type: 'string',
        description: 'Write provenance.json and sbom.cdx.json here, for `sealroom attest`.',
      },
      base: {
        type: 'string',
        description:
          'Node.js builds: base image instead of the Node runtime, oci:LAYOUT_DIR@sha256:… or oci-archive:FILE@sha256:….',
      },
      'node-binary': {
        type: 'string',
        description: 'Node.js builds: use this node binary instead of the pinned one (labelled custom).',
      },
      push: { type: 'boolean', description: 'Push to --tag (default true; --no-push only builds).' },
      'attach-sbom': {
        type: 'boolean',
        description: 'Also push the CycloneDX SBOM as an OCI 1.1 referrer of the image.',
      },
      ...DOCKERFILE_FLAGS,
    },
    async run(ctx) {
      const ref = ctx.flags.tag === undefined ? undefined : parseImageArg(ctx.flags.tag, false);
      const epochText = (ctx.flags['source-date-epoch'] as string | undefined) ?? ctx.env.SOURCE_DATE_EPOCH;
      const epoch = epochText === undefined ? undefined : Number(epochText);
      if (epoch !== undefined && !(Number.isSafeInteger(epoch) && epoch >= 0))
        throw new UsageError('--source-date-epoch must be a non-negative integer.');
      const compression = ctx.flags.compression as string | undefined;
      if (compression !== undefined && compression !== 'gzip' && compression !== 'none')
        throw new UsageError("--compression is 'gzip' or 'none'.");
      const dir = resolve(String(ctx.args.DIR));
      const image = await runStep(
        ctx,
        `building ${dir}`,
        () =>
          wantsDockerfile(ctx, dir)
            ? runDockerfileBuild(ctx, dir, ref, {
                ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
                ...(compression === undefined ? {} : { compression }),
              })
            : runNodeBuild(ctx, dir, epoch, compression),
        (built) =>
          `built image ${built.digest} (${built.layers.length} layers, ${megabytes(built.layers.reduce((n, l) => n + l.bytes.length, 0))})`,
      );
      return publishBuilt(ctx, image, ref);
    },
  },
  {
    path: ['sign'],
    summary: 'Signs IMAGE@DIGEST cosign-style (simple-signing payload at the sha256-<hex>.sig tag); co-signers append.',
    args: [{ name: 'IMAGE', required: true }],
    flags: {
      key: KEY_FLAG,
      annotations: { type: 'string', description: 'KEY=VALUE added to the payload’s optional map.', multiple: true },
    },
    async run(ctx) {
      const ref = parseImageArg(ctx.args.IMAGE, true);
      const signer = await loadSigner(ctx, String(ctx.flags.key));
      const annotations = Object.fromEntries(
        list(ctx.flags.annotations).map((kv) => {
          const eq = kv.indexOf('=');
          if (eq <= 0) throw new UsageError(`--annotations takes KEY=VALUE, got [${kv}].`);
          return [kv.slice(0, eq), kv.slice(eq + 1)];
        }),
      );
      const client = await registryClientFor(ctx, ref);
      const digest = ref.digest as string;
      await client.getManifest(ref.repository, digest);
      const layer = await signImage({
        dockerReference: `${ref.registry}/${ref.repository}`,
        imageDigest: digest,
        signer,
        annotations,
      });
      const manifestDigest = await pushAttachments(client, ref.repository, digest, '.sig', [layer]);
      ctx.err(`Signed ${ref.repository}@${digest} with key ${signer.keyId}.`);
      return { digest, key_id: signer.keyId, signature_algorithm: signer.algorithm, signatureManifest: manifestDigest };
    },
  },
  {
    path: ['verify-image'],
    summary: 'Verifies the cosign signatures of IMAGE@DIGEST with one or more keys and a k-of-n threshold.',
    args: [{ name: 'IMAGE', required: true }],
    flags: {
      key: { ...KEY_FLAG, multiple: true },
      threshold: { type: 'string', description: 'How many distinct keys must have signed (default: all of them).' },
    },
    async run(ctx) {
      const ref = parseImageArg(ctx.args.IMAGE, true);
      const keys = await Promise.all(list(ctx.flags.key).map((k) => loadTrustedKey(ctx, k)));
      const threshold = ctx.flags.threshold === undefined ? keys.length : Number(ctx.flags.threshold);
      const client = await registryClientFor(ctx, ref);
      const layers = await fetchAttachments(client, ref.repository, ref.digest as string, '.sig');
      const result = verifyImageSignatures({ imageDigest: ref.digest as string, layers, keys, threshold });
      ctx.err(`Verified: ${result.signedBy.length} of ${keys.length} keys signed (threshold ${threshold}).`);
      return result;
    },
  },
  {
    path: ['attest'],
    summary: 'Attaches a signed in-toto statement (DSSE) to IMAGE@DIGEST under the .att tag.',
    args: [{ name: 'IMAGE', required: true }],
    flags: {
      key: KEY_FLAG,
      predicate: {
        type: 'string',
        description: 'Predicate JSON file (e.g. from build --predicates-dir).',
        required: true,
      },
      type: {
        type: 'string',
        description: 'slsaprovenance1, cyclonedx, custom, or a predicate type URI (default custom).',
      },
    },
    async run(ctx) {
      const ref = parseImageArg(ctx.args.IMAGE, true);
      const typeName = String(ctx.flags.type ?? 'custom');
      const predicateType = PREDICATE_TYPE_NAMES[typeName] ?? (typeName.includes('://') ? typeName : undefined);
      if (!predicateType) throw new UsageError(`Unknown --type [${typeName}].`);
      const predicate = JSON.parse(readFileSync(String(ctx.flags.predicate), 'utf8')) as unknown;
      const signer = await loadSigner(ctx, String(ctx.flags.key));
      const client = await registryClientFor(ctx, ref);
      const layer = await attestImage({
        repository: `${ref.registry}/${ref.repository}`,
        imageDigest: ref.digest as string,
        predicateType,
        predicate,
        signers: [signer],
      });
      const manifestDigest = await pushAttachments(client, ref.repository, ref.digest as string, '.att', [layer]);
      return { digest: ref.digest, predicateType, key_id: signer.keyId, attestationManifest: manifestDigest };
    },
  },
];
