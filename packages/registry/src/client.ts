// An OCI distribution client: push and pull blobs and manifests, resolve tags, list referrers (with the
// `sha256-<hex>` tag fallback for registries without the referrers API), Basic and Docker bearer auth.
import { createOutboundClient, type OutboundFetch } from '@sealroom/outbound';
import {
  assertDigest,
  computeDigest,
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  MANIFEST_MEDIA_TYPES,
  OCI_INDEX,
  type OciDistribution,
  parseDigest,
  toDigestTag,
} from '@sealroom/formats';
import { RegistryError } from './errors.ts';

export interface RegistryClientOptions {
  /** `http://127.0.0.1:8080` or `https://registry.example` (no path). */
  readonly baseUrl: string;
  /** Basic credentials, used directly or for the token exchange; Sealroom takes `oauth2accesstoken` + an access token. */
  readonly username?: string;
  readonly password?: string;
  /** Chunk size for uploads larger than this (PATCH with Content-Range); monolithic below. */
  readonly chunkBytes?: number;
  /**
   * The outbound client's fetch to use (a server passes its deployment's). By default one whose
   * policy trusts `baseUrl`, the registry the caller chose, and holds everything else (a redirect to
   * blob storage, a token realm) to the strict rules: https, public addresses.
   */
  readonly fetch?: OutboundFetch;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
/** A pull or push of one blob may take this long before it is abandoned. */
export const REGISTRY_TIMEOUT_MS = 10 * 60 * 1000;
/** The largest manifest or blob the client reads (it holds one in memory). */
export const REGISTRY_MAX_BODY_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * An OCI distribution client, used by the builder to push, by compute to pull what the launcher runs,
 * and by the CLI for `artifacts` and signatures.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({
 *   baseUrl: 'http://127.0.0.1:8080',
 *   username: 'oauth2accesstoken', // a Sealroom registry takes an access token as the password
 *   password: accessToken,
 * });
 * const digest = await client.resolve('builder-project/repo1/tee', 'v1'); // sha256:… of the manifest
 * await pullToLayout(client, 'builder-project/repo1/tee', digest, await openOciLayout('layout', { create: true }));
 * ```
 */
export class RegistryClient implements OciDistribution {
  readonly #base: string;
  readonly #options: RegistryClientOptions;
  readonly #fetch: OutboundFetch;
  #authorization: string | undefined;

  constructor(options: RegistryClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#options = options;
    this.#fetch =
      options.fetch ??
      createOutboundClient({
        policy: { trustedOrigins: [this.#base], timeoutMs: REGISTRY_TIMEOUT_MS, maxBodyBytes: REGISTRY_MAX_BODY_BYTES },
      }).fetch;
  }

  /** Sends a request; on a 401 challenge it authenticates once (Basic, or the bearer token dance) and retries. */
  async #request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: Uint8Array } = {},
  ): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.#base}${path}`;
    const send = () =>
      this.#fetch(url, {
        method,
        headers: { ...init.headers, ...(this.#authorization ? { authorization: this.#authorization } : {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
        redirect: 'follow',
      });
    let response = await send();
    if (response.status === 401 && (await this.#authenticate(response.headers.get('www-authenticate')))) {
      await response.body?.cancel();
      response = await send();
    }
    return response;
  }

  async #authenticate(header: string | null): Promise<boolean> {
    const { username, password } = this.#options;
    if (!header || username === undefined || password === undefined) return false;
    const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (/^Basic/i.test(header)) {
      if (this.#authorization === basic) return false;
      this.#authorization = basic;
      return true;
    }
    const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!/^Bearer/i.test(header) || !params.realm) return false;
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    if (params.scope) realm.searchParams.set('scope', params.scope);
    const response = await this.#fetch(realm, { headers: { authorization: basic } });
    if (!response.ok)
      throw new RegistryError('ERR_REGISTRY_UNAUTHORIZED', `Token endpoint answered ${response.status}.`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('ERR_REGISTRY_UNAUTHORIZED', 'Token endpoint returned no token.');
    const next = `Bearer ${token}`;
    if (this.#authorization === next) return false;
    this.#authorization = next;
    return true;
  }

  async #fail(response: Response, what: string): Promise<never> {
    let code = '';
    try {
      const body = (await response.json()) as { errors?: { code?: string; message?: string }[] };
      code = body.errors?.[0]?.code ?? '';
      // A refusal's reason (a permission and a resource name, never a credential) says what to fix.
      const message = body.errors?.[0]?.message;
      if (response.status === 403 && typeof message === 'string') code = `${code}: ${message.slice(0, 500)}`;
    } catch {
      code = '';
    }
    if (response.status === 401) throw new RegistryError('ERR_REGISTRY_UNAUTHORIZED', `${what}: 401 ${code}`.trim());
    if (response.status === 404) throw new RegistryError('ERR_REGISTRY_NOT_FOUND', `${what}: 404 ${code}`.trim());
    throw new RegistryError('ERR_REGISTRY_REMOTE', `${what}: ${response.status} ${code}`.trim());
  }

  async ping(): Promise<void> {
    const response = await this.#request('GET', '/v2/');
    if (!response.ok) await this.#fail(response, 'GET /v2/');
    await response.body?.cancel();
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    const response = await this.#request('HEAD', `/v2/${name}/blobs/${digest}`);
    await response.body?.cancel();
    if (response.status === 404) return false;
    if (!response.ok) await this.#fail(response, `HEAD blob ${digest}`);
    return true;
  }

  /** POST → (PATCH chunks) → PUT `?digest=`; skipped when the registry already has the blob. */
  async pushBlob(name: string, bytes: Uint8Array, digest = computeDigest(bytes)): Promise<string> {
    assertDigest(bytes, digest);
    if (await this.hasBlob(name, digest)) return digest;
    const start = await this.#request('POST', `/v2/${name}/blobs/uploads/`);
    if (start.status !== 202) await this.#fail(start, `start upload of ${digest}`);
    await start.body?.cancel();
    let location = this.#resolveLocation(start.headers.get('location'), name);
    const chunk = this.#options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    let offset = 0;
    while (bytes.length - offset > chunk) {
      const part = bytes.subarray(offset, offset + chunk);
      const patched = await this.#request('PATCH', location, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + part.length - 1}`,
        },
        body: part,
      });
      if (patched.status !== 202) await this.#fail(patched, `upload chunk of ${digest}`);
      await patched.body?.cancel();
      location = this.#resolveLocation(patched.headers.get('location'), name);
      offset += part.length;
    }
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const done = await this.#request('PUT', url.toString(), {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes.subarray(offset),
    });
    if (done.status !== 201) await this.#fail(done, `finish upload of ${digest}`);
    await done.body?.cancel();
    return digest;
  }

  #resolveLocation(location: string | null, name: string): string {
    if (!location) throw new RegistryError('ERR_REGISTRY_REMOTE', `Upload for ${name} returned no Location.`);
    return new URL(location, `${this.#base}/`).toString();
  }

  async getBlob(name: string, digest: string): Promise<Buffer> {
    parseDigest(digest);
    const response = await this.#request('GET', `/v2/${name}/blobs/${digest}`);
    if (!response.ok) await this.#fail(response, `GET blob ${digest}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    assertDigest(bytes, digest);
    return bytes;
  }

  /** PUTs a manifest; when it has a `subject` and the registry does not confirm OCI-Subject, updates the fallback index. */
  async pushManifest(name: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const response = await this.#request('PUT', `/v2/${name}/manifests/${reference}`, {
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (response.status !== 201) await this.#fail(response, `PUT manifest ${reference}`);
    await response.body?.cancel();
    const digest = computeDigest(bytes);
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      subject?: Descriptor;
      artifactType?: string;
      annotations?: Record<string, string>;
      config?: Descriptor;
    };
    if (json.subject && !response.headers.get('oci-subject')) {
      await this.#addToFallbackIndex(name, json.subject.digest, {
        mediaType,
        digest,
        size: bytes.length,
        ...((json.artifactType ?? json.config?.mediaType)
          ? { artifactType: (json.artifactType ?? json.config?.mediaType) as string }
          : {}),
        ...(json.annotations ? { annotations: json.annotations } : {}),
      });
    }
    return digest;
  }

  async #addToFallbackIndex(name: string, subject: string, descriptor: Descriptor): Promise<void> {
    const tag = toDigestTag(subject);
    let manifests: Descriptor[] = [];
    try {
      const current = await this.getManifest(name, tag);
      manifests = (JSON.parse(current.bytes.toString('utf8')) as ImageIndex).manifests.filter(
        (m) => m.digest !== descriptor.digest,
      );
    } catch (error) {
      if (!(error instanceof RegistryError && error.code === 'ERR_REGISTRY_NOT_FOUND')) throw error;
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, descriptor] };
    await this.pushManifest(name, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
  }

  async getManifest(name: string, reference: string): Promise<FetchedManifest> {
    const response = await this.#request('GET', `/v2/${name}/manifests/${reference}`, {
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    if (!response.ok) await this.#fail(response, `GET manifest ${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = computeDigest(bytes);
    if (reference.startsWith('sha256:')) assertDigest(bytes, reference);
    const claimed = response.headers.get('docker-content-digest');
    if (claimed && claimed !== digest)
      throw new RegistryError('ERR_REGISTRY_DIGEST_MISMATCH', `Registry says ${claimed}, content is ${digest}.`);
    return { bytes, digest, mediaType: (response.headers.get('content-type') ?? '').split(';')[0] ?? '' };
  }

  /** Tag → digest, by HEAD (the digest header) with a GET fallback. */
  async resolve(name: string, reference: string): Promise<string> {
    const response = await this.#request('HEAD', `/v2/${name}/manifests/${reference}`, {
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    await response.body?.cancel();
    if (response.status === 404) throw new RegistryError('ERR_REGISTRY_NOT_FOUND', `Manifest ${reference} not found.`);
    const digest = response.ok ? response.headers.get('docker-content-digest') : null;
    return digest ?? (await this.getManifest(name, reference)).digest;
  }

  async listTags(name: string): Promise<string[]> {
    const response = await this.#request('GET', `/v2/${name}/tags/list`);
    if (!response.ok) await this.#fail(response, 'GET tags');
    return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
  }

  async deleteManifest(name: string, reference: string): Promise<void> {
    const response = await this.#request('DELETE', `/v2/${name}/manifests/${reference}`);
    if (response.status !== 202) await this.#fail(response, `DELETE manifest ${reference}`);
    await response.body?.cancel();
  }

  /** The referrers API, or the `sha256-<hex>` fallback index where the registry has no such API. */
  async listReferrers(name: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const response = await this.#request('GET', `/v2/${name}/referrers/${digest}${query}`);
    let manifests: Descriptor[];
    if (response.ok && (response.headers.get('content-type') ?? '').startsWith(OCI_INDEX)) {
      manifests = ((await response.json()) as ImageIndex).manifests as Descriptor[];
    } else if (response.status === 404) {
      await response.body?.cancel();
      try {
        manifests = (
          JSON.parse((await this.getManifest(name, toDigestTag(digest))).bytes.toString('utf8')) as ImageIndex
        ).manifests as Descriptor[];
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'ERR_REGISTRY_NOT_FOUND') return [];
        throw error;
      }
    } else {
      return this.#fail(response, `GET referrers of ${digest}`);
    }
    return artifactType === undefined ? manifests : manifests.filter((m) => m.artifactType === artifactType);
  }
}
