// A load balancer in front of `sealroom serve` replicas, for end-to-end tests: HTTP requests go round-robin and
// are retried on the next replica when one is unreachable or answers 503 (nginx's `proxy_next_upstream error
// http_503`); TCP connections (the gRPC listeners) go round-robin, or to a pinned replica first, and try the next
// replica when one refuses.
import { once } from 'node:events';
import { type IncomingHttpHeaders, type IncomingMessage, type Server, createServer, request } from 'node:http';
import { type Socket, connect, createServer as createTcpServer } from 'node:net';

export interface Upstream {
  /** The replica's REST port. */
  readonly port: number;
  /** The replica's gRPC port. */
  readonly grpcPort?: number;
}

/** Which replica answered a request (its index in the upstream list), and with which status. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly upstream: number;
  readonly status: number;
  /** Replicas tried before it: unreachable or 503. */
  readonly retried: number;
}

export interface RoundRobinProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly grpcPort: number;
  /** Every request answered, in order. */
  readonly answered: ProxiedRequest[];
  /** TCP connections made to each replica's gRPC port (by upstream index). */
  readonly grpcConnections: number[];
  /** TCP connections to each replica's gRPC port that are open now (by upstream index). */
  readonly openGrpcConnections: number[];
  /**
   * Sends new gRPC connections to one replica first (the others only when it refuses) and closes the open ones to
   * the others, as a balancer draining them; `undefined` goes back to round-robin.
   */
  pinGrpc(index: number | undefined): void;
  /** The replicas behind it; set once they run (the replicas need the proxy's URL as their base URL first). */
  setUpstreams(upstreams: readonly Upstream[]): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

export async function startRoundRobinProxy(): Promise<RoundRobinProxy> {
  let upstreams: readonly Upstream[] = [];
  let next = 0;
  let nextTcp = 0;
  const answered: ProxiedRequest[] = [];
  const grpcConnections: number[] = [];
  const openGrpcConnections: number[] = [];
  let pinned: number | undefined;
  /** Open gRPC connections by upstream index: the client's socket, closed to drain them. */
  const grpcClients = new Map<Socket, number>();

  const forward = (port: number, req: IncomingMessage, body: Buffer) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
      const out = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, resolve);
      out.once('error', reject);
      out.end(body);
    });

  const http: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const attempts = 3 * Math.max(upstreams.length, 1);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const index = next++ % Math.max(upstreams.length, 1);
      const upstream = upstreams[index];
      if (!upstream) break;
      let answer: IncomingMessage;
      try {
        answer = await forward(upstream.port, req, body);
      } catch {
        continue; // unreachable, or it died with the request: the next replica
      }
      if (answer.statusCode === 503 && attempt < attempts - 1) {
        answer.resume();
        continue;
      }
      answered.push({
        method: req.method ?? '',
        path: req.url ?? '',
        upstream: index,
        status: answer.statusCode ?? 0,
        retried: attempt,
      });
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
      answer.once('error', () => res.destroy());
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 502, message: 'no replica answered', status: 'UNAVAILABLE' } }));
  });

  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const tcp = createTcpServer((client: Socket) => {
    track(client);
    client.pause();
    client.once('error', () => client.destroy());
    const tried = new Set<number>();
    const tryConnect = (left: number) => {
      const index = pinned !== undefined && !tried.has(pinned) ? pinned : nextTcp++ % Math.max(upstreams.length, 1);
      tried.add(index);
      const port = upstreams[index]?.grpcPort;
      if (port === undefined || left === 0) {
        client.destroy();
        return;
      }
      const server = track(connect({ host: '127.0.0.1', port }));
      let connected = false;
      server.once('error', () => (connected ? client.destroy() : tryConnect(left - 1)));
      server.once('connect', () => {
        connected = true;
        grpcConnections[index] = (grpcConnections[index] ?? 0) + 1;
        openGrpcConnections[index] = (openGrpcConnections[index] ?? 0) + 1;
        grpcClients.set(client, index);
        client.once('close', () => {
          grpcClients.delete(client);
          openGrpcConnections[index] = (openGrpcConnections[index] ?? 1) - 1;
        });
        server.once('close', () => client.destroy());
        client.once('close', () => server.destroy());
        client.pipe(server).pipe(client);
        client.resume();
      });
    };
    tryConnect(3 * upstreams.length);
  });

  http.listen(0, '127.0.0.1');
  tcp.listen(0, '127.0.0.1');
  await Promise.all([once(http, 'listening'), once(tcp, 'listening')]);
  const portOf = (s: Server | ReturnType<typeof createTcpServer>) => {
    const address = s.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  return {
    url: `http://127.0.0.1:${portOf(http)}`,
    grpcPort: portOf(tcp),
    answered,
    grpcConnections,
    openGrpcConnections,
    pinGrpc(index) {
      pinned = index;
      if (index === undefined) return;
      for (const [client, upstream] of grpcClients) if (upstream !== index) client.destroy();
    },
    setUpstreams(list) {
      upstreams = list;
    },
    async close() {
      http.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise((resolve) => http.close(resolve)),
        new Promise((resolve) => {
          tcp.close(resolve);
        }),
      ]);
    },
  };
}
