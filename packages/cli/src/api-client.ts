// The CLI's HTTP client: finds the server, authenticates as the configured account, maps errors.
import type { OutboundClient } from '@sealroom/outbound';
import { ApiError, UsageError } from './errors.ts';
import { type CliConfig, DEFAULT_API } from './config-store.ts';

export { ApiError } from './errors.ts';

/** A CLI call may wait on the server this long (instance boots, long lists) before it gives up. */
export const API_TIMEOUT_MS = 5 * 60 * 1000;
/** The largest answer the CLI reads (serial output, logs, listings). */
export const API_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** Send no credentials (login, discovery). */
  readonly anonymous?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  /** Raw bytes instead of JSON. */
  readonly rawBody?: Uint8Array;
}

export interface ApiClient {
  readonly baseUrl: string;
  request<T = Record<string, unknown>>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** An access token for the active account (cached; refreshed 5 minutes before expiry). */
  accessToken(): Promise<string>;
  account(): string;
}

export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv, config: CliConfig): string {
  return (flag ?? env.SEALROOM_API ?? config.current.api ?? DEFAULT_API).replace(/\/+$/, '');
}

export function createApiClient(baseUrl: string, config: CliConfig, accountOverride: string | undefined): ApiClient {
  // The server the user pointed the CLI at is trusted whatever it resolves to; a redirect anywhere else
  // is held to the strict outbound rules, and the bearer token never follows it to another origin.
  // Imported at the first request: commands that make none (help, config) start without it.
  let outbound: Promise<OutboundClient> | undefined;
  const outboundClient = () =>
    (outbound ??= import('@sealroom/outbound').then(({ createOutboundClient }) =>
      createOutboundClient({
        policy: { trustedOrigins: [baseUrl], timeoutMs: API_TIMEOUT_MS, maxBodyBytes: API_MAX_BODY_BYTES },
      }),
    ));
  const unreachable = (error: unknown) =>
    new ApiError(
      0,
      `Cannot reach the Sealroom server at ${baseUrl}: ${String((error as Error).message).replace(/\.?$/, '.')} Is \`sealroom serve\` running? (Set --api, SEALROOM_API or \`sealroom config set api URL\`.)`,
      undefined,
      { cause: error },
    );
  const account = () => {
    const name = accountOverride ?? config.current.core?.account;
    if (!name)
      throw new UsageError(
        'You do not currently have an active account selected. Run `sealroom auth login EMAIL` (dev) or `sealroom auth login --cred-file FILE`.',
      );
    return name;
  };
  const send = async (method: string, path: string, options: RequestOptions, token: string | undefined) => {
    const url = new URL(path.startsWith('/') ? path : `/${path}`, `${baseUrl}/`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...options.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (options.rawBody) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    let text: string;
    try {
      response = await (await outboundClient()).fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(error);
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = text;
    }
    if (!response.ok) {
      const error = (
        json as {
          error?: { message?: string; status?: string; details?: { reason?: string }[] } | string;
          error_description?: string;
        }
      ).error;
      if (typeof error === 'object' && error?.message) {
        throw new ApiError(
          response.status,
          `(${error.status ?? response.status}) ${error.message}`,
          error.details?.[0]?.reason,
        );
      }
      const description = (json as { error_description?: string }).error_description;
      throw new ApiError(
        response.status,
        `HTTP ${response.status}${typeof error === 'string' ? ` ${error}` : ''}${description ? `: ${description}` : ''}`,
      );
    }
    return json;
  };
  const client: ApiClient = {
    baseUrl,
    account,
    async accessToken() {
      const name = account();
      const cached = config.cachedToken(name, baseUrl, Date.now());
      if (cached) return cached;
      const credential = config.loadCredential(name);
      if (!credential)
        throw new UsageError(`No credential for account [${name}]. Run \`sealroom auth login ${name}\`.`);
      const result = (await send(
        'POST',
        '/token',
        { anonymous: true, body: { grant_type: 'refresh_token', refresh_token: credential.refresh_token } },
        undefined,
      )) as {
        access_token: string;
        expires_in: number;
      };
      config.cacheToken(name, baseUrl, result.access_token, Date.now() + result.expires_in * 1000);
      return result.access_token;
    },
    async request<T>(method: string, path: string, options: RequestOptions = {}) {
      const token = options.anonymous ? undefined : await client.accessToken();
      return (await send(method, path, options, token)) as T;
    },
  };
  return client;
}
