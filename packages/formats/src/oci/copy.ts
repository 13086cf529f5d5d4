// Copies images between an OCI image layout and a registry (manifests, indexes, configs and layers).
import type { OciLayout } from './layout.ts';
import { isIndexMediaType } from './media-types.ts';
import type { Descriptor, ImageIndex, ImageManifest } from './oci.types.ts';

/** A manifest as a registry served it: the exact bytes, their media type and digest. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

/**
 * The OCI distribution calls that copying and publishing need; `RegistryClient` of @sealroom/registry
 * implements them, so roles below the registry take this interface rather than the client.
 */
export interface OciDistribution {
  pushBlob(name: string, bytes: Uint8Array, digest?: string): Promise<string>;
  getBlob(name: string, digest: string): Promise<Buffer>;
  pushManifest(name: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string>;
  getManifest(name: string, reference: string): Promise<FetchedManifest>;
}

/** Pushes the manifest `descriptor` names (and everything it references) from a layout; returns its digest. */
export async function pushFromLayout(
  client: Pick<OciDistribution, 'pushBlob' | 'pushManifest'>,
  layout: OciLayout,
  descriptor: Descriptor,
  name: string,
  reference?: string,
): Promise<string> {
  const bytes = await layout.readBlob(descriptor.digest);
  const json = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex;
  if (isIndexMediaType(descriptor.mediaType)) {
    for (const child of json.manifests) await pushFromLayout(client, layout, child, name);
  } else {
    for (const blob of [json.config, ...json.layers])
      await client.pushBlob(name, await layout.readBlob(blob.digest), blob.digest);
  }
  return client.pushManifest(name, reference ?? descriptor.digest, bytes, descriptor.mediaType);
}

/** Pulls `reference` (and what it references) into a layout, naming it `refName` when given. */
export async function pullToLayout(
  client: Pick<OciDistribution, 'getBlob' | 'getManifest'>,
  name: string,
  reference: string,
  layout: OciLayout,
  refName?: string,
): Promise<Descriptor> {
  const manifest = await client.getManifest(name, reference);
  const json = JSON.parse(manifest.bytes.toString('utf8')) as ImageManifest & ImageIndex;
  if (isIndexMediaType(manifest.mediaType)) {
    for (const child of json.manifests) await pullToLayout(client, name, child.digest, layout);
  } else {
    for (const blob of [json.config, ...json.layers]) {
      if (!(await layout.hasBlob(blob.digest)))
        await layout.putBlob(await client.getBlob(name, blob.digest), blob.digest);
    }
  }
  await layout.putBlob(manifest.bytes, manifest.digest);
  const descriptor: Descriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.bytes.length,
  };
  if (refName !== undefined) await layout.addManifest(descriptor, refName);
  return descriptor;
}
