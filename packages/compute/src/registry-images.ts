// The instance's image source: pulls from an OCI registry with the instance service account's token, then unpacks.
import { join } from 'node:path';
import { type ImageSignature, type ImageSource, createOciLayoutImageSource } from '@sealroom/launcher';
import { RegistryClient, openOciLayout, parseImageReference, pullToLayout, toDigestTag } from '@sealroom/registry';

const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface RegistryImageOptions {
  /** Where the instance keeps its pulled image (an OCI layout) and the unpacked root filesystem. */
  readonly dir: string;
  /** The deployment's base URL: a reference naming this host is pulled from there (same scheme). */
  readonly baseUrl: string;
  readonly accessToken: () => Promise<string>;
}

/** `http://` for the deployment's own host when it serves plain HTTP and for loopback; `https://` otherwise. */
export function registryBaseUrl(registry: string, baseUrl: string): string {
  const own = new URL(baseUrl);
  if (own.host === registry) return `${own.protocol}//${registry}`;
  const host = registry.replace(/:\d+$/, '');
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
    ? `http://${registry}`
    : `https://${registry}`;
}

function clientFor(registry: string, options: RegistryImageOptions, password: string): RegistryClient {
  return new RegistryClient({
    baseUrl: registryBaseUrl(registry, options.baseUrl),
    username: 'oauth2accesstoken',
    password,
  });
}

export function createRegistryImageSource(options: RegistryImageOptions): ImageSource {
  return {
    async pull(reference) {
      const ref = parseImageReference(reference);
      const client = clientFor(ref.registry, options, await options.accessToken());
      const layout = await openOciLayout(join(options.dir, 'layout'), { create: true });
      const tag = ref.tag ?? 'latest';
      await pullToLayout(client, ref.repository, ref.digest ?? tag, layout, ref.digest ? undefined : tag);
      return createOciLayoutImageSource({ layoutDir: layout.dir, unpackDir: join(options.dir, 'unpacked') }).pull(
        reference,
      );
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
