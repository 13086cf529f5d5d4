// cosign's `.sig` / `.att` manifests: one layer per signature, payload as the blob, signature in the
// `dev.cosignproject.cosign/signature` annotation (cosign `pkg/oci/static`, `pkg/oci/mutate/signatures.go`).
import { computeDigest, type Descriptor, type ImageManifest, OCI_CONFIG, OCI_MANIFEST } from '@sealroom/formats';
import { toJsonBlob, type BuiltBlob } from './image.ts';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';
/** ggcr `empty.Image` with no creation time recorded. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** cosign caps a signature manifest at 1000 layers (`AppendSignatures`). */
export const MAX_SIGNATURE_LAYERS = 1000;

export interface SignatureLayer {
  readonly descriptor: Descriptor;
  readonly payload: Buffer;
}

export function toSignatureLayer(
  payload: Buffer,
  mediaType: string,
  annotations: Readonly<Record<string, string>>,
): SignatureLayer {
  return { descriptor: { mediaType, digest: computeDigest(payload), size: payload.length, annotations }, payload };
}

/** The config ggcr writes for cosign: field order of its ConfigFile struct, zero times, one history per layer. */
export function buildSignatureConfig(layers: readonly SignatureLayer[]): BuiltBlob {
  return toJsonBlob(
    {
      architecture: '',
      created: ZERO_TIME,
      history: layers.map(() => ({ created: ZERO_TIME })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.descriptor.digest) },
      config: {},
    },
    OCI_CONFIG,
  );
}

export interface SignatureManifest {
  readonly manifest: BuiltBlob;
  readonly config: BuiltBlob;
  readonly layers: readonly SignatureLayer[];
}

export function buildSignatureManifest(layers: readonly SignatureLayer[]): SignatureManifest {
  const config = buildSignatureConfig(layers);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
  };
  return { manifest: toJsonBlob(manifest, OCI_MANIFEST), config, layers };
}

/** Co-signing: a new layer is appended unless the same payload with the same annotations is already there. */
export function appendSignatureLayers(
  existing: readonly SignatureLayer[],
  added: readonly SignatureLayer[],
): SignatureLayer[] {
  const seen = new Set(existing.map(layerKey));
  const out = [...existing];
  for (const layer of added) {
    if (seen.has(layerKey(layer))) continue;
    seen.add(layerKey(layer));
    out.push(layer);
  }
  return out.slice(-MAX_SIGNATURE_LAYERS);
}

function layerKey(layer: SignatureLayer): string {
  return `${layer.descriptor.digest} ${JSON.stringify(layer.descriptor.annotations ?? {})}`;
}
