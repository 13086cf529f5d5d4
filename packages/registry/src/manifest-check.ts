// Validation of a pushed manifest: content type, JSON shape, and every referenced blob or manifest present.
import { type Descriptor, isDigest, isIndexMediaType, isManifestMediaType } from '@sealroom/formats';
import { RegistryError } from './errors.ts';

export interface CheckedManifest {
  readonly mediaType: string;
  /** `artifactType`, else the config's media type (OCI distribution 1.1 referrers rule). */
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ContentLookup {
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  hasManifest(descriptor: Descriptor): Promise<boolean>;
}

const bad = (message: string) => new RegistryError('ERR_REGISTRY_BAD_MANIFEST', message);

function checkDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    !isDigest(d.digest) ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw bad(`Invalid descriptor at ${where}.`);
  }
  return d as Descriptor;
}

export async function validateManifest(
  bytes: Buffer,
  contentType: string | undefined,
  lookup: ContentLookup,
): Promise<CheckedManifest> {
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
  if (!isManifestMediaType(mediaType)) {
    throw new RegistryError(
      'ERR_REGISTRY_UNSUPPORTED_MEDIA_TYPE',
      `Content-Type '${mediaType.slice(0, 100)}' is not a manifest media type.`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('The manifest is not JSON.');
  }
  if (typeof json !== 'object' || json === null || json.schemaVersion !== 2) throw bad('schemaVersion must be 2.');
  if (json.mediaType !== undefined && json.mediaType !== mediaType) {
    throw new RegistryError(
      'ERR_REGISTRY_UNSUPPORTED_MEDIA_TYPE',
      'The manifest mediaType differs from the Content-Type.',
    );
  }
  const subject = json.subject === undefined ? undefined : checkDescriptor(json.subject, 'subject').digest;
  const annotations =
    typeof json.annotations === 'object' && json.annotations !== null
      ? (json.annotations as Record<string, string>)
      : {};
  const artifactTypeField = typeof json.artifactType === 'string' ? json.artifactType : undefined;
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw bad('An index needs manifests[].');
    for (const [i, entry] of json.manifests.entries()) {
      const d = checkDescriptor(entry, `manifests[${i}]`);
      if (!(await lookup.hasManifest(d)))
        throw new RegistryError('ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN', `manifests[${i}] ${d.digest} was not pushed.`);
    }
    return { mediaType, artifactType: artifactTypeField, subject, annotations };
  }
  const config = checkDescriptor(json.config, 'config');
  if (!Array.isArray(json.layers)) throw bad('An image manifest needs layers[].');
  const layers = json.layers.map((l, i) => checkDescriptor(l, `layers[${i}]`));
  for (const [where, d] of [['config', config] as const, ...layers.map((l, i) => [`layers[${i}]`, l] as const)]) {
    if (!(await lookup.hasBlob(d)))
      throw new RegistryError(
        'ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN',
        `${where} ${d.digest} (${d.size} bytes) was not pushed.`,
      );
  }
  return { mediaType, artifactType: artifactTypeField ?? config.mediaType, subject, annotations };
}
