// The host channel's listener: HTTP/2 over mutual TLS with the deployment CA; a host is known by its certificate.
import {
  type Http2SecureServer,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  constants,
  createSecureServer,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@sealroom/core';
import { certificateFingerprint } from './enrolment.ts';
import { createPeer } from './peer.ts';
import { CHANNEL_PATH } from './protocol.ts';
import type { RemoteHosts } from './remote-agent.ts';
import type { HostStore } from './store.ts';

export interface HostListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly keyPem: string; readonly certPem: string; readonly caPem: string };
  readonly store: HostStore;
  readonly remote: RemoteHosts;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface HostListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHostListener(options: HostListenerOptions): Promise<HostListener> {
  const { logger } = options;
  const server: Http2SecureServer = createSecureServer({
    key: options.tls.keyPem,
    cert: options.tls.certPem,
    ca: [options.tls.caPem],
    // Mutual TLS only: a client without a certificate from the deployment CA never gets past the handshake.
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    allowHTTP1: false,
  });
  const streams = new Set<ServerHttp2Stream>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    void accept(stream, headers[constants.HTTP2_HEADER_PATH], headers[constants.HTTP2_HEADER_METHOD]);
  });
  const accept = async (stream: ServerHttp2Stream, path: unknown, method: unknown) => {
    if (path !== CHANNEL_PATH || method !== 'POST') {
      stream.respond({ ':status': 404 }, { endStream: true });
      return;
    }
    const peerCert = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
    const raw = peerCert?.raw;
    // Only the current certificate of a joined host opens a channel; a replaced or unknown one is refused.
    const host = raw ? await options.store.hostByFingerprint(certificateFingerprint(raw)) : undefined;
    if (!host) {
      logger.warn({}, 'host channel refused: the client certificate belongs to no joined host');
      stream.respond({ ':status': 403 }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
    streams.add(stream);
    stream.on('close', () => {
      streams.delete(stream);
      void options.store.touch(host.name, options.now()).catch(() => undefined);
    });
    const peer = createPeer(stream, {
      onFrame: (frame) => options.remote.onFrame(host.name, frame),
      onCall: (op, frame) => options.remote.onCall(host.name, op, frame),
    });
    // Attached before anything else is awaited: a reconnecting host replays its events at once.
    options.remote.attach({ name: host.name, pool: host.pool, peer });
    await options.store.touch(host.name, options.now()).catch(() => undefined);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: options.host }, 'compute: host channel listening (mutual TLS)');
  return {
    port,
    async close() {
      for (const stream of streams) stream.close(constants.NGHTTP2_CANCEL);
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
