// The teeserver: plain HTTP on a unix socket the workload sees at /run/container_launcher/teeserver.sock
// (docs/launcher.md, "teeserver").
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { dirname } from 'node:path';
import { type Logger, isSealroomError } from '@sealroom/core';
import { LauncherError } from './errors.ts';
import { parseCustomTokenRequest } from './token-request.ts';
import type { TokenSource } from './token-source.ts';

export const TEESERVER_SOCKET_NAME = 'teeserver.sock';
const MAX_BODY_BYTES = 64 * 1024;
/** `sun_path` is 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
/**
 * Every token request is a round trip to the verifier: a workload may have this many in flight, and this
 * many more waiting; beyond that it is told to slow down (429) instead of flooding the verifier.
 */
export const TEESERVER_MAX_IN_FLIGHT = 4;
export const TEESERVER_MAX_WAITING = 32;

/** Statuses Google's teeserver answers with 400 (its gRPC InvalidArgument, FailedPrecondition, …); others are 500. */
const CLIENT_STATUSES = new Set([
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'NOT_FOUND',
  'ABORTED',
  'OUT_OF_RANGE',
  'CANCELLED',
]);

export interface TeeServerOptions {
  readonly socketPath: string;
  readonly tokenSource: TokenSource;
  readonly logger: Logger;
}

/** A counting gate: `enter` resolves when a slot is free, or returns false when the waiting line is full. */
function createGate(slots: number, line: number) {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return {
    async enter(): Promise<boolean> {
      if (busy < slots) {
        busy++;
        return true;
      }
      if (waiting.length >= line) return false;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return true;
    },
    leave(): void {
      const next = waiting.shift();
      if (next) next();
      else busy--;
    },
  };
}

export interface TeeServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** Listens on the socket with mode 0777 (the launch aborts otherwise, as Google's does). */
export async function startTeeServer(options: TeeServerOptions): Promise<TeeServer> {
  const { socketPath, logger } = options;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new LauncherError(
      'ERR_LAUNCHER_TEESERVER',
      `the teeserver socket path is ${Buffer.byteLength(socketPath)} bytes; unix sockets allow ${MAX_SOCKET_PATH_BYTES}: use a shorter state directory`,
    );
  }
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  await rm(socketPath, { force: true });
  const gate = createGate(TEESERVER_MAX_IN_FLIGHT, TEESERVER_MAX_WAITING);
  const server = createServer((req, res) => {
    handle(req, res, options, gate).catch((error: unknown) => {
      logger.error({ error }, 'teeserver request failed');
      if (!res.headersSent) send(res, 500, 'internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let mode: number;
  try {
    await chmod(socketPath, 0o777);
    mode = (await stat(socketPath)).mode & 0o777;
  } catch (cause) {
    await closeServer(server);
    throw new LauncherError('ERR_LAUNCHER_TEESERVER', 'the teeserver socket could not be given mode 0777', { cause });
  }
  if (mode !== 0o777) {
    await closeServer(server);
    throw new LauncherError(
      'ERR_LAUNCHER_TEESERVER',
      `the teeserver socket could not be given mode 0777: it has mode ${mode.toString(8)}`,
    );
  }
  logger.info({ socketPath }, 'teeserver listening');
  return {
    socketPath,
    close: async () => {
      await closeServer(server);
      await rm(socketPath, { force: true });
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: TeeServerOptions,
  gate: ReturnType<typeof createGate>,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/v1/token') {
    send(res, 404, `no such endpoint: ${path}`);
    return;
  }
  if (req.method === 'GET' || req.method === 'POST') {
    if (!(await gate.enter())) {
      send(res, 429, `too many token requests: at most ${TEESERVER_MAX_IN_FLIGHT + TEESERVER_MAX_WAITING} at once`);
      return;
    }
    try {
      await answerToken(req, res, options);
    } finally {
      gate.leave();
    }
    return;
  }
  send(res, 400, `TEE server received an invalid HTTP method: ${req.method}`);
}

async function answerToken(req: IncomingMessage, res: ServerResponse, options: TeeServerOptions): Promise<void> {
  try {
    if (req.method === 'GET') {
      send(res, 200, await options.tokenSource.fetchDefaultToken());
    } else {
      const request = parseCustomTokenRequest(await readBody(req));
      send(res, 200, await options.tokenSource.fetchCustomToken(request));
    }
  } catch (error) {
    if (isSealroomError(error) && CLIENT_STATUSES.has(error.status)) {
      send(res, 400, error.message);
      return;
    }
    options.logger.error({ error }, 'teeserver could not get a token');
    send(res, 500, 'failed to get the attestation token');
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  // Google's teeserver answers tokens as text/html; errors are plain text.
  res.writeHead(status, { 'content-type': status === 200 ? 'text/html' : 'text/plain; charset=utf-8' });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new LauncherError('ERR_LAUNCHER_TOKEN_REQUEST_INVALID', `the request body is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
