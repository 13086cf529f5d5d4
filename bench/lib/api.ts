// Setting up what a benchmark measures through the server's public API, as a user would (dev login, JSON REST).

// biome-ignore lint/suspicious/noExplicitAny: Google API JSON, read field by field.
export type Json = Record<string, any>;

export interface Api {
  readonly url: string;
  /** `method path` with a JSON body as `token`; throws unless the answer is 2xx. */
  call(token: string, method: string, path: string, body?: unknown): Promise<Json>;
  /** A fresh access token for `email` through the dev login and the OAuth token endpoint. */
  login(email: string): Promise<string>;
  /** Creates project `projectId` as the holder of `token`; resolves with its number. */
  createProject(token: string, projectId: string): Promise<string>;
  /** Adds `member` to `role` on `resource` (a REST resource name) through getIamPolicy and setIamPolicy. */
  grant(token: string, resource: string, role: string, member: string): Promise<void>;
}

export function apiOf(url: string): Api {
  const call: Api['call'] = async (token, method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as Json;
  };
  return {
    url,
    call,
    async login(email) {
      const login = await fetch(`${url}/v1/dev:login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      if (!login.ok) throw new Error(`dev login: ${login.status} ${await login.text()}`);
      const { refreshToken } = (await login.json()) as { refreshToken: string };
      const token = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
      });
      if (!token.ok) throw new Error(`token: ${token.status} ${await token.text()}`);
      return ((await token.json()) as { access_token: string }).access_token;
    },
    async createProject(token, projectId) {
      const created = await call(token, 'POST', '/v1/projects', { projectId });
      return String(
        created.response?.projectNumber ?? (await call(token, 'GET', `/v1/projects/${projectId}`)).projectNumber,
      );
    },
    async grant(token, resource, role, member) {
      const policy = await call(token, 'POST', `/v1/${resource}:getIamPolicy`, {});
      const bindings = [...(policy.bindings ?? []), { role, members: [member] }];
      await call(token, 'POST', `/v1/${resource}:setIamPolicy`, { policy: { ...policy, bindings } });
    },
  };
}
