// JSON REST calls with a bearer token, for end-to-end tests against a running server.
import assert from 'node:assert/strict';

// biome-ignore lint/suspicious/noExplicitAny: Google API JSON, read field by field.
export type Json = Record<string, any>;

export interface BearerRest {
  /** `method path` with `body` as JSON and `token` as the bearer; resolves with the status and the JSON answer. */
  rest(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }>;
  /** The same call, which must answer 200; resolves with the JSON answer. */
  ok(token: string, method: string, path: string, body?: unknown): Promise<Json>;
}

/** Calls against the server at `baseUrl()` (read at each call, so a server started later can be named). */
export function bearerRest(baseUrl: () => string): BearerRest {
  const rest: BearerRest['rest'] = async (token, method, path, body) => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  return {
    rest,
    async ok(token, method, path, body) {
      const res = await rest(token, method, path, body);
      assert.ok(res.status === 200, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json;
    },
  };
}
