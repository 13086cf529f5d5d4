// The instance's image source: pulls from an OCI registry with the instance service account's token, then unpacks.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ImageSignature,
  type ImageSource,
  type PulledImage,
  createOciLayoutImageSource,
} from '@sealroom/launcher';
import { type OutboundClient, allowsHttp } from '@sealroom/outbound';
import {
  REGISTRY_MAX_BODY_BYTES,
  REGISTRY_TIMEOUT_MS,
  RegistryClient,
  openOciLayout,
  parseImageReference,
  pullToLayout,
  toDigestTag,
} from '@sealroom/registry';

const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface RegistryImageOptions {
  /** The deployment's base URL: a reference naming this host is pulled from there (same scheme). */
  readonly baseUrl: string;
  readonly accessToken: () => Promise<string>;
  /**
   * The deployment's outbound client, its own base URL trusted: any other registry an instance names
   * is reached under the deployment's policy (https, public addresses, unless allow-listed).
   */
  readonly outbound: OutboundClient;
}

export interface RegistryImageSourceOptions extends RegistryImageOptions {
  /** The host's image cache: one OCI layout (blobs by digest, checked on write and read) and unpacked trees. */
  readonly cacheDir: string;
  /**
   * Reuse an unpacked tree across instances and boots (the container sees it read-only). Off for the
   * plain-process runtime, whose workload could write into the tree another instance then runs.
   */
  readonly shareRootfs: boolean;
  /** Where this instance unpacks when it does not share. */
  readonly instanceDir: string;
}

interface UnpackedRecord {
  readonly configDigest?: string;
  readonly config: PulledImage['config'];
}

/**
 * The deployment's own registry with its own scheme; another registry over `http://` when the outbound
 * policy allows plain http to it (its allow-list, loopback in dev mode), over `https://` otherwise.
 */
export function registryBaseUrl(registry: string, baseUrl: string, outbound: OutboundClient): string {
  const own = new URL(baseUrl);
  if (own.host === registry) return `${own.protocol}//${registry}`;
  return allowsHttp(new URL(`http://${registry}`), outbound.policy) ? `http://${registry}` : `https://${registry}`;
}

/**
 * A client for `registry`. Only the deployment's own registry gets the instance service account's
 * token: it means nothing elsewhere, and an operator-chosen registry must not collect it.
 */
function clientFor(registry: string, options: RegistryImageOptions, password: string): RegistryClient {
  const baseUrl = registryBaseUrl(registry, options.baseUrl, options.outbound);
  const own = new URL(options.baseUrl).host === registry;
  const fetch = (input: string | URL, init?: Parameters<OutboundClient['fetch']>[1]) =>
    options.outbound.fetch(input, { timeoutMs: REGISTRY_TIMEOUT_MS, maxBodyBytes: REGISTRY_MAX_BODY_BYTES, ...init });
  return new RegistryClient({ baseUrl, fetch, ...(own ? { username: 'oauth2accesstoken', password } : {}) });
}

/** Unpacks of the same digest in flight on this host, so two boots never unpack into one tree at once. */
const unpacking = new Map<string, Promise<UnpackedRecord>>();

/**
 * Pulls with the instance service account's token every time (the registry decides whether this
 * instance may read the image; a tag is resolved again), fetches only blobs the cache lacks, and
 * unpacks a digest once per host when sharing is on.
 */
export function createRegistryImageSource(options: RegistryImageSourceOptions): ImageSource {
  return {
    async pull(reference) {
      const ref = parseImageReference(reference);
      const client = clientFor(ref.registry, options, await options.accessToken());
      const layout = await openOciLayout(join(options.cacheDir, 'layout'), { create: true });
      const manifest = await pullToLayout(client, ref.repository, ref.digest ?? ref.tag ?? 'latest', layout);
      const digest = manifest.digest;
      const pinned = `${ref.registry}/${ref.repository}@${digest}`;
      const hex = digest.replace(/^sha256:/, '');
      if (!options.shareRootfs) {
        const source = createOciLayoutImageSource({
          layoutDir: layout.dir,
          unpackDir: join(options.instanceDir, 'unpacked'),
        });
        return { ...(await source.pull(pinned)), reference };
      }
      const unpackDir = join(options.cacheDir, 'unpacked');
      const marker = join(unpackDir, hex, 'complete.json');
      let record = unpacking.get(digest);
      if (!record) {
        record = (async (): Promise<UnpackedRecord> => {
          const done = await readFile(marker, 'utf8').catch(() => undefined);
          if (done) return JSON.parse(done) as UnpackedRecord;
          const pulled = await createOciLayoutImageSource({ layoutDir: layout.dir, unpackDir }).pull(pinned);
          const result: UnpackedRecord = {
            ...(pulled.configDigest === undefined ? {} : { configDigest: pulled.configDigest }),
            config: pulled.config,
          };
          await writeFile(marker, JSON.stringify(result));
          return result;
        })().finally(() => unpacking.delete(digest));
        unpacking.set(digest, record);
      }
      const { configDigest, config } = await record;
      const rootfs = join(unpackDir, hex, 'rootfs');
      // The layout checks blobs by digest on write and read: these bytes hash to the config digest.
      const configBlob = configDigest === undefined ? undefined : await layout.readBlob(configDigest);
      return {
        reference,
        digest,
        ...(configDigest === undefined ? {} : { configDigest }),
        config,
        ...(configBlob === undefined ? {} : { configBlob }),
        rootfs,
      };
    },
  };
}

/**
 * Cosign signatures of `digest` from each `tee-signed-image-repos` repository (launcher.md §7): the
 * `sha256-<hex>.sig` manifest's layers, each a payload with its signature annotation. A repository
 * without signatures, or one that cannot be read, adds none.
 */
export async function discoverSignatures(
  repos: readonly string[],
  digest: string,
  options: RegistryImageOptions,
): Promise<ImageSignature[]> {
  const found: ImageSignature[] = [];
  const password = await options.accessToken();
  for (const repo of repos) {
    try {
      const ref = parseImageReference(repo);
      const client = clientFor(ref.registry, options, password);
      const manifest = await client.getManifest(ref.repository, toDigestTag(digest, '.sig'));
      const json = JSON.parse(manifest.bytes.toString('utf8')) as {
        layers?: { digest: string; annotations?: Record<string, string> }[];
      };
      for (const layer of json.layers ?? []) {
        const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
        if (!signature) continue;
        found.push({
          payload: await client.getBlob(ref.repository, layer.digest),
          signature: Buffer.from(signature, 'base64'),
        });
      }
    } catch {
      // Google's launcher logs and skips a repository it cannot read; the caller logs the count.
    }
  }
  return found;
}
