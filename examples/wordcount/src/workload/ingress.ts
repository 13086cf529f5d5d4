// The mTLS ingress: per-collaborator server certificate and client CA chosen by SNI; /connect binds a token to the session.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type SecureContext, type TLSSocket, createSecureContext } from 'node:tls';
import type { Logger } from '@sealroom/core';
import { tlsBindingNonce } from '@sealroom/workload';
import type { ContributionProcessor } from '../processor.ts';
import { WordcountError } from '../errors.ts';

export const CONNECT_AUDIENCE_PREFIX = 'https://';
const MAX_BODY_BYTES = 16 * 1024;
/** What a sender is told to wait before sending a contribution again, when a collaborator is unreachable. */
const RETRY_AFTER_SECONDS = 5;

/** One collaborator's TLS material, fetched at start from its own Secret Manager (never baked into the image). */
export interface IngressTenant {
  readonly collaborator: string;
  readonly serverName: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly clientCaPem: string;
}

export interface IngressOptions {
  readonly tenants: readonly IngressTenant[];
  readonly processor: ContributionProcessor;
  /** Asks the teeserver for a custom token with this audience and nonce. */
  readonly requestToken: (audience: string, nonce: string) => Promise<string>;
  readonly logger: Logger;
  readonly port: number;
  readonly host?: string;
}

export interface Ingress {
  readonly port: number;
  close(): Promise<void>;
}

export async function startIngress(options: IngressOptions): Promise<Ingress> {
  const contexts = new Map<string, { tenant: IngressTenant; context: SecureContext }>();
  for (const tenant of options.tenants) {
    contexts.set(tenant.serverName, {
      tenant,
      context: createSecureContext({ key: tenant.keyPem, cert: tenant.certPem, ca: tenant.clientCaPem }),
    });
  }
  const server = createServer(
    {
      requestCert: true,
      rejectUnauthorized: true,
      // Without SNI no certificate is offered; with an unknown name the handshake fails.
      SNICallback: (name, callback) => {
        const entry = contexts.get(name);
        if (entry) callback(null, entry.context);
        else callback(new WordcountError('ERR_WORDCOUNT_UNKNOWN_COLLABORATOR', `no tenant for server name ${name}`));
      },
    },
    (req, res) => {
      handle(req, res, options, contexts).catch((error: unknown) => {
        options.logger.error({ error }, 'ingress request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port, serverNames: [...contexts.keys()] }, 'mTLS ingress listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: IngressOptions,
  contexts: ReadonlyMap<string, { tenant: IngressTenant }>,
): Promise<void> {
  const socket = req.socket as TLSSocket & { servername?: string };
  const tenant = contexts.get(socket.servername ?? '')?.tenant;
  if (!tenant || !socket.authorized) {
    send(res, 403, { error: 'client certificate not accepted for this server name' });
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/connect') {
    const token = await options.requestToken(`${CONNECT_AUDIENCE_PREFIX}${tenant.serverName}`, tlsBindingNonce(socket));
    send(res, 200, { token });
    return;
  }
  if (req.method === 'POST' && path === '/increment') {
    const body = await readJson(req);
    const attributes = (body?.attributes ?? {}) as Record<string, string>;
    // The TLS identity decides who speaks: a contribution labelled as another collaborator is refused.
    if (attributes.collaborator !== tenant.collaborator) {
      send(res, 403, { error: `this connection speaks for ${tenant.collaborator}` });
      return;
    }
    const outcome = await new Promise<'acked' | 'nacked' | 'retry'>((resolve) => {
      void options.processor.handle({
        id: `https-${attributes.contribution_id ?? ''}`,
        attributes,
        data: Buffer.from(String(body?.data ?? ''), 'base64'),
        ack: () => resolve('acked'),
        nack: () => resolve('nacked'),
        retryLater: () => resolve('retry'),
      });
    });
    if (outcome === 'acked') send(res, 200, { status: 'counted' });
    else if (outcome === 'retry') {
      // The collaborator's STS or KMS is unreachable for now: the sender keeps the word and sends it again.
      res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
      send(res, 503, { error: 'temporarily unable to open the contribution; send it again' });
    } else send(res, 400, { error: 'contribution rejected' });
    return;
  }
  send(res, 404, { error: 'not found' });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}
