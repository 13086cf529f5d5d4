// The launcher's side of the instance's GCE-compatible metadata server: what `sealroom launcher` reads at boot
// (`instance/attributes/?recursive=true&alt=json`, `instance/id`, …), its tokens, and `wait_for_change`.
import { request as httpRequest } from 'node:http';
import { LauncherError } from '../errors.ts';
import { METADATA_BASE_PATH, METADATA_FLAVOR, METADATA_FLAVOR_HEADER } from '../metadata-server/server.ts';

/** Where Compute Engine's metadata server answers inside an instance (GCE_METADATA_HOST overrides it). */
export const DEFAULT_METADATA_HOST = 'metadata.google.internal';
/** The metadata server's address, `host[:port]` as in Google's client libraries. */
export const METADATA_HOST_ENV = 'GCE_METADATA_HOST';
const REQUEST_TIMEOUT_MS = 30_000;
/** A `wait_for_change` request is held by the server at most this long; the client waits a little longer. */
const WAIT_TIMEOUT_SEC = 300;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** What the launcher learns about its instance before it boots anything. */
export interface InstanceSnapshot {
  readonly id: string;
  readonly name: string;
  /** The zone's short name (`us-central1-a`), from `instance/zone` (`projects/NUM/zones/ZONE`). */
  readonly zone: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly universeDomain: string;
  readonly serviceAccountEmail: string;
  readonly scopes: readonly string[];
  /** The operator's metadata (`instance/attributes/`) and its ETag, for `wait_for_change`. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly attributesEtag: string | undefined;
  /** The deployment's REST base URL (`sealroom/api-endpoint`, this deployment's own entry). */
  readonly apiEndpoint: string | undefined;
}

export interface MetadataClient {
  /** `host:port`, or `unix:PATH` for the host-side socket of the launcher. */
  readonly where: string;
  /** One GET under `/computeMetadata/v1/`; a status other than 200 is an ERR_LAUNCHER_METADATA_SERVER. */
  get(path: string, query?: Readonly<Record<string, string>>): Promise<{ body: string; etag: string | undefined }>;
  /** Everything the boot needs, read once. */
  readInstance(): Promise<InstanceSnapshot>;
  /** `instance/service-accounts/default/token`: the attached account's access token and its expiry (epoch ms). */
  accessToken(): Promise<{ readonly accessToken: string; readonly expiresAt: number }>;
  /** `instance/service-accounts/default/identity?audience=…` (format standard). */
  identityToken(audience: string): Promise<string>;
  /**
   * `instance/attributes/?recursive=true&alt=json&wait_for_change=true&last_etag=…`: resolves with the new
   * attributes once they differ from `lastEtag` (or with the same ones when the server's wait times out).
   */
  waitForAttributes(
    lastEtag: string | undefined,
    signal: AbortSignal,
  ): Promise<{ readonly attributes: Readonly<Record<string, string>>; readonly etag: string | undefined }>;
}

/** The address as Google's libraries take it: `host`, `host:port`, `[v6]:port`; `unix:/path` is Sealroom's own. */
export function parseMetadataHost(value: string): { host?: string; port?: number; socketPath?: string } {
  if (value.startsWith('unix:')) {
    const socketPath = value.slice('unix:'.length);
    if (!socketPath.startsWith('/'))
      throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', 'unix: metadata addresses need an absolute path');
    return { socketPath };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/]+))(?::(\d{1,5}))?$/.exec(value);
  const port = match?.[3] === undefined ? 80 : Number(match[3]);
  if (!match || port < 1 || port > 65_535)
    throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server address ${value} is not host[:port]`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/** A client of one metadata server: every request carries `Metadata-Flavor: Google`, every answer must too. */
export function createMetadataClient(where: string, options: { readonly now?: () => number } = {}): MetadataClient {
  const target = parseMetadataHost(where);
  const now = options.now ?? Date.now;

  const send = (
    path: string,
    query: Readonly<Record<string, string>>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ body: string; etag: string | undefined }> =>
    new Promise((resolve, reject) => {
      const search = new URLSearchParams(query).toString();
      const req = httpRequest({
        ...(target.socketPath === undefined
          ? { host: target.host, port: target.port }
          : { socketPath: target.socketPath }),
        method: 'GET',
        path: `${METADATA_BASE_PATH}/${path}${search === '' ? '' : `?${search}`}`,
        headers: { [METADATA_FLAVOR_HEADER]: METADATA_FLAVOR },
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      req.once('timeout', () =>
        req.destroy(new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server did not answer ${path}`)),
      );
      req.once('error', (error) =>
        reject(
          error instanceof LauncherError || signal?.aborted
            ? error
            : new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server at ${where} is unreachable`, {
                cause: error,
              }),
        ),
      );
      req.once('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES)
            req.destroy(new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the answer to ${path} is too large`));
          else chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => {
          const status = response.statusCode ?? 0;
          // An answer without the flavor header is not from a metadata server (a captive proxy, a stray listener).
          if (response.headers[METADATA_FLAVOR_HEADER.toLowerCase()] !== METADATA_FLAVOR) {
            reject(
              new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `${where} answered ${path} without Metadata-Flavor`),
            );
            return;
          }
          if (status !== 200) {
            reject(
              new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server answered ${path} with ${status}`),
            );
            return;
          }
          const etag = response.headers.etag;
          resolve({ body: Buffer.concat(chunks).toString('utf8'), etag: typeof etag === 'string' ? etag : undefined });
        });
      });
      req.end();
    });

  const getJson = async (path: string): Promise<{ value: unknown; etag: string | undefined }> => {
    const { body, etag } = await send(path, { recursive: 'true', alt: 'json' }, REQUEST_TIMEOUT_MS);
    try {
      return { value: JSON.parse(body) as unknown, etag };
    } catch {
      throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server answered ${path} with bad JSON`);
    }
  };
  const text = async (path: string) => (await send(path, {}, REQUEST_TIMEOUT_MS)).body.trim();
  const optionalText = async (path: string) => {
    try {
      return await text(path);
    } catch (error) {
      if (error instanceof LauncherError && / with 404$/.test(error.message)) return undefined;
      throw error;
    }
  };

  return {
    where,
    get: (path, query = {}) => send(path, query, REQUEST_TIMEOUT_MS),
    async readInstance() {
      const [attributes, id, name, zone, projectId, projectNumber, email, scopes, universeDomain, apiEndpoint] =
        await Promise.all([
          getJson('instance/attributes/'),
          text('instance/id'),
          text('instance/name'),
          text('instance/zone'),
          text('project/project-id'),
          text('project/numeric-project-id'),
          text('instance/service-accounts/default/email'),
          text('instance/service-accounts/default/scopes'),
          optionalText('universe/universe-domain'),
          optionalText('sealroom/api-endpoint'),
        ]);
      return {
        id,
        name,
        zone: zone.split('/').pop() ?? zone,
        projectId,
        projectNumber,
        universeDomain: universeDomain || 'googleapis.com',
        serviceAccountEmail: email,
        scopes: scopes.split('\n').filter(Boolean),
        attributes: toAttributes(attributes.value),
        attributesEtag: attributes.etag,
        apiEndpoint: apiEndpoint || undefined,
      };
    },
    async accessToken() {
      const asked = now();
      const { body } = await send('instance/service-accounts/default/token', {}, REQUEST_TIMEOUT_MS);
      const parsed = parseJsonObject(body, 'token');
      const token = parsed.access_token;
      const expiresIn = parsed.expires_in;
      if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number')
        throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', 'the metadata server gave no access token');
      return { accessToken: token, expiresAt: asked + expiresIn * 1000 };
    },
    async identityToken(audience) {
      const { body } = await send('instance/service-accounts/default/identity', { audience }, REQUEST_TIMEOUT_MS);
      const token = body.trim();
      if (token.split('.').length !== 3)
        throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', 'the metadata server gave no identity token');
      return token;
    },
    async waitForAttributes(lastEtag, signal) {
      const { body, etag } = await send(
        'instance/attributes/',
        {
          recursive: 'true',
          alt: 'json',
          wait_for_change: 'true',
          timeout_sec: String(WAIT_TIMEOUT_SEC),
          ...(lastEtag === undefined ? {} : { last_etag: lastEtag }),
        },
        (WAIT_TIMEOUT_SEC + 30) * 1000,
        signal,
      );
      return { attributes: toAttributes(parseJsonObject(body, 'instance/attributes/')), etag };
    },
  };
}

function parseJsonObject(body: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(body) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {}
  throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `the metadata server answered ${what} with bad JSON`);
}

/** `instance/attributes/` as JSON: every value a string (a key with another type is refused). */
function toAttributes(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', 'instance/attributes/ is not a JSON object');
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new LauncherError('ERR_LAUNCHER_METADATA_SERVER', `instance/attributes/${key} is not a string`);
    out[key] = v;
  }
  return out;
}

/**
 * Follows the attributes with `wait_for_change` until `signal` aborts, calling `onChange` with each new set.
 * A failed request is retried after a pause (bounded by the abort); the ETag makes a lost answer harmless.
 */
export async function watchAttributes(
  client: MetadataClient,
  initialEtag: string | undefined,
  onChange: (attributes: Readonly<Record<string, string>>) => void,
  signal: AbortSignal,
  retryMs = 2000,
): Promise<void> {
  let etag = initialEtag;
  while (!signal.aborted) {
    try {
      const next = await client.waitForAttributes(etag, signal);
      if (next.etag !== etag) {
        etag = next.etag;
        onChange(next.attributes);
      }
    } catch {
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}
