// Image signature discovery from `tee-signed-image-repos`: cosign's `sha256-<hex>.sig` manifests, each
// layer a payload blob with its base64 `dev.cosignproject.cosign/signature` annotation.
import { fromBase64, type Logger } from '@sealroom/core';
import { computeDigest, isDigest } from '@sealroom/formats';
import type { ImageSignature } from './verifier-client.ts';

/** The registry calls discovery needs; `RegistryClient` from @sealroom/registry satisfies it. */
export interface SignatureRegistry {
  getManifest(name: string, reference: string): Promise<{ readonly bytes: Uint8Array }>;
  getBlob(name: string, digest: string): Promise<Uint8Array>;
}

export interface SignatureDiscoveryOptions {
  /** `HOST[:PORT]/path/to/image` entries, no tag (the metadata's comma-separated list). */
  readonly repos: readonly string[];
  /** The running image's digest, `sha256:<hex>`. */
  readonly imageDigest: string;
  /** A client for one registry host (authenticated as the instance's service account). */
  readonly clientFor: (host: string) => SignatureRegistry;
  readonly logger: Logger;
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Google's verifier looks at 300 signatures at most. */
export const MAX_SIGNATURES = 300;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 300;

interface SignatureManifest {
  readonly layers?: readonly { readonly digest?: unknown; readonly annotations?: Readonly<Record<string, unknown>> }[];
}

/**
 * Returns a function that fetches every signature of the image from every repo, as Google's launcher
 * does on each token refresh: one repo failing (missing, unreachable, malformed) is logged and skipped,
 * never fatal; a layer whose blob does not match its digest or whose signature is not base64 is dropped.
 */
export function createSignatureDiscovery(options: SignatureDiscoveryOptions): () => Promise<ImageSignature[]> {
  const tag = `${options.imageDigest.replace(':', '-')}.sig`;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const delayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const fromRepo = async (repo: string): Promise<ImageSignature[]> => {
    const slash = repo.indexOf('/');
    if (slash <= 0 || repo.includes('@') || /:[^/]*$/.test(repo.slice(slash))) {
      options.logger.warn({ repo }, 'tee-signed-image-repos entry is not HOST/PATH without a tag; skipped');
      return [];
    }
    const client = options.clientFor(repo.slice(0, slash));
    const name = repo.slice(slash + 1);
    let manifest: SignatureManifest | undefined;
    for (let attempt = 1; attempt <= retries; attempt++) {
      try {
        manifest = JSON.parse(
          Buffer.from((await client.getManifest(name, tag)).bytes).toString('utf8'),
        ) as SignatureManifest;
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_REGISTRY_NOT_FOUND' || attempt === retries) {
          options.logger.info({ repo, code }, 'no image signatures fetched from repo');
          return [];
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
    const found: ImageSignature[] = [];
    for (const layer of manifest?.layers ?? []) {
      const digest = typeof layer.digest === 'string' ? layer.digest : '';
      const encoded = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
      if (!isDigest(digest) || typeof encoded !== 'string') continue;
      try {
        const payload = Buffer.from(await client.getBlob(name, digest));
        if (computeDigest(payload) !== digest) continue;
        found.push({ payload, signature: fromBase64(encoded, COSIGN_SIGNATURE_ANNOTATION) });
      } catch (error) {
        options.logger.warn(
          { repo, layer: digest, code: (error as { code?: string }).code },
          'image signature layer skipped',
        );
      }
    }
    return found;
  };
  return async () => {
    const perRepo = await Promise.all(options.repos.map(fromRepo));
    return perRepo.flat().slice(0, MAX_SIGNATURES);
  };
}
