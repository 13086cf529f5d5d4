// The console's only way to the server: its public REST APIs with the signed-in person's bearer token.
// The session lives in this module's memory alone: never in storage, cookies or the address bar.

export interface Session {
  readonly account: string;
  accessToken: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** A refresh token (dev login, sign-in link, or an issued credential); absent for a pasted access token. */
  readonly refreshToken?: string;
}

export class ApiError extends Error {
  readonly status: number;
  /** The `google.rpc.ErrorInfo` reason (a Sealroom error code) or the OAuth / OCI code. */
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

let session: Session | undefined;
const listeners = new Set<() => void>();
const REFRESH_MARGIN_MS = 60_000;

export function currentSession(): Session | undefined {
  return session;
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(next: Session | undefined): void {
  session = next;
  for (const listener of listeners) listener();
}

export function signOut(): void {
  setSession(undefined);
}

async function readError(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let reason: string | undefined;
  try {
    const body = (await response.json()) as {
      error?: { message?: string; details?: { reason?: string }[] } | string;
      error_description?: string;
      errors?: { code?: string; message?: string }[];
    };
    if (typeof body.error === 'object' && body.error) {
      message = body.error.message ?? message;
      reason = body.error.details?.find((d) => d.reason)?.reason;
    } else if (typeof body.error === 'string') {
      message = body.error_description ?? body.error;
      reason = body.error;
    } else if (body.errors?.[0]) {
      message = body.errors[0].message ?? message;
      reason = body.errors[0].code;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, reason);
}

async function tokenFromRefresh(account: string, refreshToken: string): Promise<Session> {
  const response = await fetch('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!response.ok) throw await readError(response);
  const body = (await response.json()) as { access_token: string; expires_in: number };
  return {
    account,
    accessToken: body.access_token,
    expiresAt: Date.now() + body.expires_in * 1000,
    refreshToken,
  };
}

/** Signs in with an `authorized_user` credential (what dev login, a sign-in link and the administrator issue). */
export async function signInWithCredential(credential: {
  account?: string;
  refresh_token?: string;
  refreshToken?: string;
}): Promise<void> {
  const refreshToken = credential.refresh_token ?? credential.refreshToken;
  if (typeof refreshToken !== 'string' || refreshToken === '')
    throw new ApiError(400, 'The credential has no refresh_token: it is not an authorized_user credential.');
  setSession(await tokenFromRefresh(String(credential.account ?? 'signed-in user'), refreshToken));
}

export async function devLogin(email: string): Promise<void> {
  const credential = await post<{ account: string; refreshToken: string }>('/v1/dev:login', { email }, false);
  await signInWithCredential(credential);
}

export async function redeemSignInCode(code: string): Promise<void> {
  const credential = await post<{ account: string; refreshToken: string }>(
    '/v1/console:redeemSignInCode',
    { code },
    false,
  );
  await signInWithCredential(credential);
}

async function bearer(): Promise<string> {
  const current = session;
  if (!current) throw new ApiError(401, 'You are signed out.');
  if (current.refreshToken && current.expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    try {
      const renewed = await tokenFromRefresh(current.account, current.refreshToken);
      current.accessToken = renewed.accessToken;
      current.expiresAt = renewed.expiresAt;
    } catch {
      setSession(undefined);
      throw new ApiError(401, 'Your session ended; sign in again.');
    }
  }
  return current.accessToken;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly auth?: boolean;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

/** Sends a request to this server; answers the response itself (callers stream or read it). */
export async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  if (!path.startsWith('/')) throw new ApiError(400, 'Only this server is reachable from the console.');
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== false) headers.authorization = `Bearer ${await bearer()}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    cache: 'no-store',
    credentials: 'omit',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 401 && options.auth !== false) setSession(undefined);
  if (!response.ok) throw await readError(response);
  return response;
}

export async function get<T>(path: string): Promise<T> {
  return (await (await send('GET', path)).json()) as T;
}

export async function post<T>(path: string, body: unknown = {}, auth = true): Promise<T> {
  return (await (await send('POST', path, { body, auth })).json()) as T;
}

export async function patch<T>(path: string, body: unknown): Promise<T> {
  return (await (await send('PATCH', path, { body })).json()) as T;
}

export async function del<T>(path: string): Promise<T> {
  return (await (await send('DELETE', path)).json()) as T;
}

/** Encodes each segment of a resource name for a URL path, keeping its slashes. */
export function pathOf(name: string): string {
  return name
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}
