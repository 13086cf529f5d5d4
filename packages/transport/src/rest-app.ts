// The Fastify adapter: serves ApiRoutes with Google path templates, bearer auth, body modes and error bodies.
import { Readable } from 'node:stream';
import { type Authenticator, type Caller, CoreError, type Logger, newUuid } from '@sealroom/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiReply, type ApiRequest, type ApiRoute, type HttpMethod } from './api.ts';
import { DEFAULT_BODY_LIMIT_BYTES, parseBody, readBody } from './body.ts';
import { toGoogleError } from './errors-wire.ts';
import { type CompiledTemplate, compileTemplate } from './path-template.ts';
import type { RequestSample } from './service.ts';

export interface RestAppOptions {
  readonly routes: readonly ApiRoute[];
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Log every request at info (default) or only failures. */
  readonly logRequests?: 'all' | 'errors';
  /** Told of every answered request (the deployment's metrics). */
  readonly onRequestDone?: (sample: RequestSample) => void;
}

interface CompiledRoute {
  readonly route: ApiRoute;
  readonly template: CompiledTemplate;
}

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const MAX_HEADER_TOKEN_BYTES = 16 * 1024;

/** Builds a Fastify instance serving `routes`; extra Fastify routes (health) may be added before listen. */
export async function buildRestApp(options: RestAppOptions): Promise<FastifyInstance> {
  const table = compileRoutes(options.routes);
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024 * 1024,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    genReqId: () => newUuid(),
    routerOptions: { maxParamLength: 4096 },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  const handler = async (request: FastifyRequest, replyTo: FastifyReply) => dispatch(table, options, request, replyTo);
  app.route({ method: [...METHODS], url: '/*', handler });
  app.route({ method: [...METHODS], url: '/', handler });
  return app;
}

/** A method's routes, most specific first, and (made on first use) those that can match n segments. */
interface MethodRoutes {
  readonly all: readonly CompiledRoute[];
  readonly bySegments: Map<number, readonly CompiledRoute[]>;
}

/** Paths longer than this are not given a list of their own (every such path tries every route). */
const MAX_BUCKETED_SEGMENTS = 64;

function compileRoutes(routes: readonly ApiRoute[]): Map<HttpMethod, MethodRoutes> {
  const lists = new Map<HttpMethod, CompiledRoute[]>();
  for (const method of METHODS) lists.set(method, []);
  for (const route of routes) {
    lists.get(route.method)?.push({ route, template: compileTemplate(route.path) });
  }
  const table = new Map<HttpMethod, MethodRoutes>();
  for (const [method, list] of lists) {
    list.sort((a, b) => b.template.specificity - a.template.specificity);
    table.set(method, { all: list, bySegments: new Map() });
  }
  return table;
}

/** The routes that can match a path of `count` segments, in the order of `all` (the route table is fixed). */
function candidatesOf(routes: MethodRoutes, count: number): readonly CompiledRoute[] {
  if (count > MAX_BUCKETED_SEGMENTS) return routes.all;
  let list = routes.bySegments.get(count);
  if (list === undefined) {
    list = routes.all.filter((c) => c.template.fitsSegmentCount(count));
    routes.bySegments.set(count, list);
  }
  return list;
}

function findRoute(
  table: Map<HttpMethod, MethodRoutes>,
  method: HttpMethod,
  path: string,
): { route: ApiRoute; params: Record<string, string> } | undefined {
  const routes = table.get(method);
  if (routes === undefined) return undefined;
  const segments = path.split('/');
  for (const candidate of candidatesOf(routes, segments.length)) {
    const params = candidate.template.match(path, segments);
    if (params) return { route: candidate.route, params };
  }
  return undefined;
}

async function dispatch(
  table: Map<HttpMethod, MethodRoutes>,
  options: RestAppOptions,
  request: FastifyRequest,
  out: FastifyReply,
): Promise<void> {
  const started = performance.now();
  const method = request.method as HttpMethod;
  const url = request.raw.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  let route: ApiRoute | undefined;
  let caller: Caller | undefined;
  try {
    const path = decodePath(rawPath);
    let found = findRoute(table, method, path);
    if (!found && method === 'HEAD') found = findRoute(table, 'GET', path);
    if (!found) {
      throw new CoreError('ERR_NOT_FOUND', `The requested URL ${truncate(path)} was not found on this server.`);
    }
    route = found.route;
    const auth = route.auth ?? 'required';
    // `auth: 'none'` routes may carry other schemes (the registry token endpoint takes Basic).
    const bearerToken = auth === 'none' ? undefined : readBearer(request.headers.authorization);
    if (auth !== 'none' && bearerToken !== undefined) {
      caller = await options.authenticator.authenticate(bearerToken);
    } else if (auth === 'required') {
      throw new CoreError(
        'ERR_UNAUTHENTICATED',
        'Request is missing required authentication credential. Expected OAuth 2 access token or other valid authentication credential.',
      );
    }
    const mode = route.body ?? 'json';
    let rawBody: Buffer | undefined;
    let body: unknown;
    if (mode !== 'stream') {
      const bytes = await readBody(request.raw, route.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES);
      if (mode === 'raw') rawBody = bytes;
      body = parseBody(mode, bytes, request.headers['content-type']);
    }
    const { query, queryAll } = parseQuery(queryAt < 0 ? '' : url.slice(queryAt + 1));
    const apiRequest = new RestRequest(request, out, {
      params: found.params,
      query,
      queryAll,
      body,
      rawBody,
      caller,
      bearerToken: auth === 'none' ? undefined : bearerToken,
    });
    const result = await route.handler(apiRequest);
    await send(out, method, result);
    logRequest(options, request, out.statusCode, started, caller);
    reportRequest(options, method, route, out.statusCode, started);
  } catch (error) {
    const mapped = route?.mapError?.(error);
    if (mapped) {
      await send(out, method, new ApiReply(mapped.status ?? 400, mapped.headers ?? {}, mapped.body));
    } else {
      const { status, body } = toGoogleError(error);
      if (status === 401) out.header('www-authenticate', 'Bearer realm="sealroom"');
      await send(out, method, new ApiReply(status, {}, body));
    }
    if (out.statusCode >= 500) {
      options.logger.error({ requestId: request.id, method, path: rawPath, error }, 'request failed');
    }
    // The catalogued code (ERR_PERMISSION_DENIED, ERR_NOT_FOUND, …) goes on the line, never the message; a
    // route's own error mapping (OAuth's `error`) answers with another shape, whose code is not this one.
    const wire = toGoogleError(error);
    const reason = wire.status === out.statusCode ? wire.body.error.details[0]?.reason : undefined;
    const code = typeof reason === 'string' ? reason : undefined;
    logRequest(options, request, out.statusCode, started, caller, code);
    reportRequest(options, method, route, out.statusCode, started);
  }
}

/** What a handler is given about its request; the abort signal and the base URL are made on first use. */
class RestRequest implements ApiRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly queryAll: Readonly<Record<string, readonly string[]>>;
  readonly headers: FastifyRequest['headers'];
  readonly body: unknown;
  readonly rawBody: Buffer | undefined;
  readonly caller: Caller | undefined;
  readonly bearerToken: string | undefined;
  readonly requestId: string;
  readonly raw: FastifyRequest['raw'];
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  #controller: AbortController | undefined;

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    parts: Pick<ApiRequest, 'params' | 'query' | 'queryAll' | 'body' | 'rawBody' | 'caller' | 'bearerToken'>,
  ) {
    this.params = parts.params;
    this.query = parts.query;
    this.queryAll = parts.queryAll;
    this.headers = request.headers;
    this.body = parts.body;
    this.rawBody = parts.rawBody;
    this.caller = parts.caller;
    this.bearerToken = parts.bearerToken;
    this.requestId = request.id;
    this.raw = request.raw;
    this.#request = request;
    this.#reply = reply;
  }

  get baseUrl(): string {
    return `${this.#request.protocol}://${this.#request.host}`;
  }

  /** Made when a handler first asks for it (a long poll, a stream): most never do. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const made = new AbortController();
      this.#controller = made;
      const reply = this.#reply;
      // The client may already be gone; otherwise its going aborts the signal, unless it was answered.
      if (this.raw.destroyed && !reply.sent) made.abort();
      else this.raw.once('close', () => !reply.sent && made.abort());
    }
    return this.#controller.signal;
  }
}

/** The route's template, never the path itself: resource names would make one series per resource. */
function reportRequest(
  options: RestAppOptions,
  method: HttpMethod,
  route: ApiRoute | undefined,
  status: number,
  started: number,
): void {
  options.onRequestDone?.({
    transport: 'http',
    method,
    route: route?.path ?? 'unmatched',
    code: String(status),
    seconds: (performance.now() - started) / 1000,
  });
}

async function send(out: FastifyReply, method: HttpMethod, result: unknown): Promise<void> {
  const isReply = result instanceof ApiReply;
  const status = isReply ? result.status : 200;
  const headers = isReply ? result.headers : {};
  const body = isReply ? result.body : result;
  out.code(status);
  out.header('x-request-id', out.request.id);
  for (const [name, value] of Object.entries(headers)) out.header(name, value);
  if (method === 'HEAD' || status === 204 || status === 304) {
    if (body instanceof Readable) body.destroy();
    await out.send();
    return;
  }
  if (body instanceof Readable) {
    if (!out.hasHeader('content-type')) out.header('content-type', 'application/octet-stream');
    await out.send(body);
  } else if (Buffer.isBuffer(body) || typeof body === 'string') {
    if (!out.hasHeader('content-type')) {
      out.header('content-type', typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
    }
    await out.send(body);
  } else {
    out.header('content-type', out.getHeader('content-type') ?? 'application/json; charset=UTF-8');
    await out.send(JSON.stringify(body ?? {}));
  }
}

function readBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match || (match[1] as string).length > MAX_HEADER_TOKEN_BYTES) {
    throw new CoreError('ERR_UNAUTHENTICATED', 'The Authorization header is not a Bearer token.');
  }
  return match[1];
}

function decodePath(path: string): string {
  if (/%2f/i.test(path)) throw new CoreError('ERR_INVALID_ARGUMENT', 'Encoded slashes are not allowed in the path.');
  try {
    return decodeURIComponent(path);
  } catch {
    throw new CoreError('ERR_INVALID_ARGUMENT', 'The request path is not valid percent-encoding.');
  }
}

function parseQuery(text: string): { query: Record<string, string>; queryAll: Record<string, string[]> } {
  const query: Record<string, string> = {};
  const queryAll: Record<string, string[]> = {};
  if (text.length === 0) return { query, queryAll };
  for (const [key, value] of new URLSearchParams(text)) {
    query[key] = value;
    (queryAll[key] ??= []).push(value);
  }
  return { query, queryAll };
}

function logRequest(
  options: RestAppOptions,
  request: FastifyRequest,
  status: number,
  started: number,
  caller: Caller | undefined,
  code?: string,
): void {
  if (options.logRequests === 'errors' && status < 400) return;
  const url = request.raw.url ?? '/';
  const queryAt = url.indexOf('?');
  options.logger.info(
    {
      requestId: request.id,
      method: request.method,
      path: queryAt < 0 ? url : url.slice(0, queryAt),
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      principal: caller?.principal,
      ...(status >= 400 && code !== undefined ? { code } : {}),
    },
    'request',
  );
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
