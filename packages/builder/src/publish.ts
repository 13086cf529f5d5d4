// Publishing to a registry: push a built image, add cosign signatures and attestations under their
// `sha256-<hex>.sig` / `.att` tags (co-signing appends), and fetch them back for verification.
import { isSealroomError } from '@sealroom/core';
import {
  computeDigest,
  type Descriptor,
  type ImageManifest,
  OCI_EMPTY,
  OCI_MANIFEST,
  type OciDistribution,
  toDigestTag,
} from '@sealroom/formats';
import type { BuiltImage } from './build.ts';
import { appendSignatureLayers, buildSignatureManifest, type SignatureLayer } from './cosign-manifest.ts';

export async function pushImage(
  client: OciDistribution,
  image: Pick<BuiltImage, 'layers' | 'blobs' | 'configDigest' | 'digest' | 'manifest'>,
  name: string,
  tag?: string,
): Promise<string> {
  for (const layer of image.layers) await client.pushBlob(name, layer.bytes, layer.digest);
  await client.pushBlob(name, image.blobs.config.bytes, image.configDigest);
  return client.pushManifest(name, tag ?? image.digest, image.manifest, OCI_MANIFEST);
}

export type AttachmentKind = '.sig' | '.att';

/** Reads the layers (payload blobs with their descriptors) at `sha256-<hex><kind>`; none when the tag is absent. */
export async function fetchAttachments(
  client: OciDistribution,
  name: string,
  digest: string,
  kind: AttachmentKind,
): Promise<SignatureLayer[]> {
  let bytes: Buffer;
  try {
    bytes = (await client.getManifest(name, toDigestTag(digest, kind))).bytes;
  } catch (error) {
    if (isSealroomError(error) && error.code === 'ERR_REGISTRY_NOT_FOUND') return [];
    throw error;
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  const layers: SignatureLayer[] = [];
  for (const descriptor of manifest.layers)
    layers.push({ descriptor, payload: await client.getBlob(name, descriptor.digest) });
  return layers;
}

/** Appends layers to the attachment manifest (re-pushed whole, as cosign does); returns the new manifest digest. */
export async function pushAttachments(
  client: OciDistribution,
  name: string,
  digest: string,
  kind: AttachmentKind,
  added: readonly SignatureLayer[],
): Promise<string> {
  const layers = appendSignatureLayers(await fetchAttachments(client, name, digest, kind), added);
  const built = buildSignatureManifest(layers);
  for (const layer of layers) await client.pushBlob(name, layer.payload, layer.descriptor.digest);
  await client.pushBlob(name, built.config.bytes, built.config.descriptor.digest);
  return client.pushManifest(name, toDigestTag(digest, kind), built.manifest.bytes, OCI_MANIFEST);
}

/** cosign's media type for CycloneDX JSON (`pkg/types/media.go`), used as the SBOM referrer's artifactType. */
export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
const EMPTY_JSON = Buffer.from('{}');

/**
 * Attaches `payload` to the image as an OCI 1.1 referrer: an artifact manifest with the empty config,
 * one layer and `subject` = the image, pushed by digest. Where the registry has no referrers API the
 * client keeps the `sha256-<hex>` fallback index.
 */
export async function pushReferrer(
  client: OciDistribution,
  name: string,
  subject: Descriptor,
  artifact: {
    readonly artifactType: string;
    readonly payload: Buffer;
    readonly annotations?: Readonly<Record<string, string>>;
  },
): Promise<string> {
  await client.pushBlob(name, EMPTY_JSON);
  const layerDigest = await client.pushBlob(name, artifact.payload);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifact.artifactType,
    config: { mediaType: OCI_EMPTY, digest: computeDigest(EMPTY_JSON), size: EMPTY_JSON.length },
    layers: [{ mediaType: artifact.artifactType, digest: layerDigest, size: artifact.payload.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return client.pushManifest(name, computeDigest(bytes), bytes, OCI_MANIFEST);
}
