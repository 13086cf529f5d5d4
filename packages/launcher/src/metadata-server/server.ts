// One instance's GCE-compatible metadata server (`GET /computeMetadata/v1/…`), on a listener of its own.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '@sealroom/core';
import { LauncherError } from '../errors.ts';
import {
  type InstanceFacts,
  type MetadataDirectory,
  type MetadataNode,
  buildMetadataTree,
  etagOf,
  findNode,
  listDirectory,
  stringifyJson,
  toJsonValue,
  toTextLines,
} from './tree.ts';

export const METADATA_BASE_PATH = '/computeMetadata/v1';
/** Requests must carry it and every answer does, as on Compute Engine. */
export const METADATA_FLAVOR_HEADER = 'Metadata-Flavor';
export const METADATA_FLAVOR = 'Google';
/** `wait_for_change` never holds a request longer than this, whatever `timeout_sec` asks. */
export const MAX_WAIT_SECONDS = 3600;

/** Tokens minted by the control plane for this instance's attached service account, and nothing else. */
export interface MetadataCredentials {
  accessToken(scopes: readonly string[]): Promise<{ readonly accessToken: string; readonly expiresInSeconds: number }>;
  identityToken(request: {
    readonly audience: string;
    readonly format: 'standard' | 'full';
    readonly licenses: boolean;
  }): Promise<string>;
}

export interface MetadataServerOptions {
  readonly facts: InstanceFacts;
  readonly attributes: Readonly<Record<string, string>>;
  readonly credentials: MetadataCredentials;
  /** The address to listen on: the instance's gateway address, or a loopback address of its own. */
  readonly host: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** When set, a connection from any other address is closed before a byte is read. */
  readonly allowedPeers?: readonly string[];
  /**
   * A Unix socket the server also answers on, for the instance's launcher on the host side of its network
   * namespace: only processes the socket's file mode admits (the host agent's user) reach it.
   */
  readonly launcherSocket?: string;
  readonly logger: Logger;
}

export interface MetadataServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, what GCE_METADATA_HOST holds. */
  readonly hostPort: string;
  /** `unix:PATH` when `launcherSocket` was given: the launcher's `--metadata-host`. */
  readonly launcherAddress?: string;
  /** Replaces the instance's attributes; `wait_for_change` requests whose answer changed return. */
  setAttributes(attributes: Readonly<Record<string, string>>): void;
  /** How many `wait_for_change` requests are parked now. */
  pendingWaits(): number;
  close(): Promise<void>;
}

interface Query {
  readonly alt: 'json' | 'text' | undefined;
  readonly recursive: boolean;
  readonly waitForChange: boolean;
  readonly lastEtag: string | undefined;
  readonly timeoutSec: number;
}

/** A refusal with Compute Engine's status; its message is the answer's body. */
function refusal(status: number, message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_METADATA_REQUEST', message, { httpStatus: status });
}

/**
 * Starts the metadata server of one instance. It answers only that instance (the listener is its own,
 * and with `allowedPeers` only the instance's address may connect).
 *
 * @example
 * ```ts
 * const server = await startMetadataServer({ facts, attributes, credentials, host: '127.0.0.1', logger });
 * // inside the instance: GCE_METADATA_HOST=${server.hostPort}
 * await server.close();
 * ```
 */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  let tree = buildMetadataTree(options.facts, options.attributes);
  const waiters = new Set<() => void>();
  const allowed = options.allowedPeers?.map(normalizeAddress);
  const peerAllowed = (socket: Socket) =>
    allowed === undefined || allowed.includes(normalizeAddress(socket.remoteAddress ?? ''));
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      const refused =
        error instanceof LauncherError && error.code === 'ERR_LAUNCHER_METADATA_REQUEST' ? error : undefined;
      if (!refused) options.logger.error({ error }, 'metadata request failed');
      if (!response.headersSent)
        send(response, refused?.httpStatus ?? 500, refused ? `${refused.message}\n` : 'Internal Server Error\n');
      else response.destroy();
    });
  };
  const server: Server = createServer((request, response) => {
    if (!peerAllowed(request.socket)) {
      request.socket.destroy();
      return;
    }
    onRequest(request, response);
  });
  server.on('connection', (socket: Socket) => {
    if (!peerAllowed(socket)) {
      options.logger.warn({ peer: socket.remoteAddress }, 'metadata server: connection from another address refused');
      socket.destroy();
    }
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://metadata.google.internal');
    if (request.method !== 'GET' && request.method !== 'HEAD') throw refusal(405, 'Method Not Allowed');
    // Compute Engine refuses proxied requests: a server-side request forgery carries X-Forwarded-For.
    if (request.headers['x-forwarded-for'] !== undefined)
      throw refusal(403, 'Request with an X-Forwarded-For header refused.');
    if (!hasFlavor(request)) throw refusal(403, 'Missing Metadata-Flavor:Google header.');
    const path = url.pathname;
    // The root listings: Python's google-auth detects the metadata server by a 200 at `/` with the flavor header.
    if (path === '/') return send(response, 200, 'computeMetadata/\n');
    if (path === '/computeMetadata/') return send(response, 200, 'v1/\n');
    if (path === METADATA_BASE_PATH) return redirect(response, `${METADATA_BASE_PATH}/${url.search}`);
    if (!path.startsWith(`${METADATA_BASE_PATH}/`)) throw refusal(404, 'Not Found');
    const rest = path.slice(METADATA_BASE_PATH.length + 1);
    const trailingSlash = rest === '' || rest.endsWith('/');
    const segments = rest.split('/').filter((s) => s !== '');
    const query = parseQuery(url.searchParams);
    const dynamic = dynamicEndpoint(segments, options.facts.serviceAccount.email);
    if (dynamic !== undefined) {
      if (trailingSlash) throw refusal(404, 'Not Found');
      if (query.waitForChange) throw refusal(400, 'wait_for_change is not supported for this endpoint');
      return dynamic === 'token' ? serveToken(url, response) : serveIdentity(url, response);
    }
    let node = findNode(tree, segments);
    if (!node) throw refusal(404, 'Not Found');
    if (node.kind === 'leaf' && trailingSlash && segments.length > 0) throw refusal(404, 'Not Found');
    if (node.kind === 'dir' && !trailingSlash && !query.recursive)
      return redirect(response, `${METADATA_BASE_PATH}/${rest}/${url.search}`);
    let etag = etagOf(node);
    if (query.waitForChange && (query.lastEtag === undefined || query.lastEtag === etag)) {
      const start = etag;
      const changed = await waitForChange(() => etagOf(findNode(tree, segments)) !== start, query.timeoutSec, request);
      if (!changed && request.destroyed) return;
      node = findNode(tree, segments);
      if (!node) throw refusal(404, 'Not Found');
      etag = etagOf(node);
    }
    const { body, json } = render(node, query);
    send(response, 200, body, { etag, json, head: request.method === 'HEAD' });
  };

  const serveToken = async (url: URL, response: ServerResponse): Promise<void> => {
    const requested = (url.searchParams.get('scopes') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const scopes = requested.length > 0 ? requested : options.facts.serviceAccount.scopes;
    const token = await options.credentials.accessToken(scopes);
    send(
      response,
      200,
      JSON.stringify({ access_token: token.accessToken, expires_in: token.expiresInSeconds, token_type: 'Bearer' }),
      { json: true },
    );
  };

  const serveIdentity = async (url: URL, response: ServerResponse): Promise<void> => {
    const audience = url.searchParams.get('audience') ?? '';
    if (audience === '') throw refusal(400, 'non-empty audience parameter required');
    const format = url.searchParams.get('format') ?? 'standard';
    if (format !== 'standard' && format !== 'full') throw refusal(400, 'format must be standard or full');
    const licenses = (url.searchParams.get('licenses') ?? 'FALSE').toUpperCase();
    if (licenses !== 'TRUE' && licenses !== 'FALSE') throw refusal(400, 'licenses must be TRUE or FALSE');
    const token = await options.credentials.identityToken({ audience, format, licenses: licenses === 'TRUE' });
    send(response, 200, token);
  };

  const waitForChange = (changed: () => boolean, timeoutSec: number, request: IncomingMessage): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const finish = (value: boolean) => {
        waiters.delete(check);
        clearTimeout(timer);
        request.socket.off('close', onClose);
        resolve(value);
      };
      const check = () => {
        if (changed()) finish(true);
      };
      const onClose = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutSec * 1000);
      waiters.add(check);
      request.socket.on('close', onClose);
    });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host;
  let local: Server | undefined;
  if (options.launcherSocket !== undefined) {
    const path = options.launcherSocket;
    await rm(path, { force: true });
    const socketServer = createServer(onRequest);
    try {
      await new Promise<void>((resolve, reject) => {
        socketServer.once('error', reject);
        socketServer.listen({ path }, () => {
          socketServer.off('error', reject);
          resolve();
        });
      });
      await chmod(path, 0o600);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
    local = socketServer;
  }
  const closeServer = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    host,
    port,
    hostPort: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...(options.launcherSocket === undefined ? {} : { launcherAddress: `unix:${options.launcherSocket}` }),
    setAttributes(attributes) {
      tree = buildMetadataTree(options.facts, attributes);
      for (const waiter of [...waiters]) waiter();
    },
    pendingWaits: () => waiters.size,
    close: async () => {
      await Promise.all([closeServer(server), ...(local ? [closeServer(local)] : [])]);
    },
  };
}

function hasFlavor(request: IncomingMessage): boolean {
  if (request.headers['metadata-flavor'] === METADATA_FLAVOR) return true;
  // The legacy header the v1 endpoint still accepts.
  return String(request.headers['x-google-metadata-request'] ?? '').toLowerCase() === 'true';
}

function parseQuery(params: URLSearchParams): Query {
  const alt = params.get('alt') ?? undefined;
  if (alt !== undefined && alt !== 'json' && alt !== 'text') throw refusal(400, 'alt must be json or text');
  const flag = (name: string): boolean => {
    const value = (params.get(name) ?? 'false').toLowerCase();
    if (value !== 'true' && value !== 'false') throw refusal(400, `${name} must be true or false`);
    return value === 'true';
  };
  const timeout = params.get('timeout_sec');
  let timeoutSec = MAX_WAIT_SECONDS;
  if (timeout !== null) {
    if (!/^\d{1,9}$/.test(timeout) || Number(timeout) < 1) throw refusal(400, 'invalid timeout_sec');
    timeoutSec = Math.min(Number(timeout), MAX_WAIT_SECONDS);
  }
  return {
    alt,
    recursive: flag('recursive'),
    waitForChange: flag('wait_for_change'),
    lastEtag: params.get('last_etag') ?? undefined,
    timeoutSec,
  };
}

/** `instance/service-accounts/{default|EMAIL}/{token|identity}`: minted per request. */
function dynamicEndpoint(segments: readonly string[], email: string): 'token' | 'identity' | undefined {
  if (segments.length !== 4 || segments[0] !== 'instance' || segments[1] !== 'service-accounts') return undefined;
  if (segments[2] !== 'default' && segments[2] !== email) return undefined;
  return segments[3] === 'token' || segments[3] === 'identity' ? segments[3] : undefined;
}

/** A leaf is text unless `alt=json`; a recursive directory is JSON unless `alt=text`; a listing is text. */
function render(node: MetadataNode, query: Query): { body: string; json: boolean } {
  if (node.kind === 'leaf') {
    return query.alt === 'json' ? { body: stringifyJson(node.json), json: true } : { body: node.text, json: false };
  }
  if (query.recursive) {
    if (query.alt === 'text')
      return {
        body: toTextLines(node)
          .map((l) => `${l}\n`)
          .join(''),
        json: false,
      };
    return { body: stringifyJson(toJsonValue(node)), json: true };
  }
  const names = listDirectory(node as MetadataDirectory);
  if (query.alt === 'json') return { body: JSON.stringify(names), json: true };
  return { body: names.map((n) => `${n}\n`).join(''), json: false };
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  options: { etag?: string; json?: boolean; head?: boolean } = {},
): void {
  response.writeHead(status, {
    [METADATA_FLAVOR_HEADER]: METADATA_FLAVOR,
    'Content-Type': options.json ? 'application/json' : 'application/text',
    Server: 'Metadata Server for VM',
    'X-Frame-Options': 'SAMEORIGIN',
    'Content-Length': Buffer.byteLength(body),
    ...(options.etag === undefined ? {} : { ETag: options.etag }),
  });
  response.end(options.head ? undefined : body);
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(301, {
    [METADATA_FLAVOR_HEADER]: METADATA_FLAVOR,
    Location: location,
    'Content-Type': 'text/html',
    'Content-Length': 0,
  });
  response.end();
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
