// Holds a host port for a published instance port: a socket bound on every address keeps other programs
// (and other Sealroom hosts on the machine) off it while the DNAT rule sends its traffic to the instance.
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { LauncherError } from '../errors.ts';

export interface PortReservation {
  readonly port: number;
  release(): Promise<void>;
}

function bindTcp(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => resolve(server));
  });
}

function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => resolve(socket));
  });
}

/**
 * Whether a socket already listens on (tcp) or is bound to (udp) the port on any address, from /proc/net:
 * a bind on 0.0.0.0 can succeed beside a listener on 127.0.0.1, whose clients the DNAT rule would steal.
 */
export async function portInUse(protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/);
      if (!local.endsWith(`:${hex}`)) continue;
      if (protocol === 'udp' || state === '0A') return true;
    }
  }
  return false;
}

async function reserveExactly(protocol: 'tcp' | 'udp', port: number): Promise<PortReservation | undefined> {
  if (port !== 0 && (await portInUse(protocol, port))) return undefined;
  if (protocol === 'tcp') {
    const server = await bindTcp(port);
    if (!server) return undefined;
    const bound = (server.address() as { port: number }).port;
    return { port: bound, release: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  const socket = await bindUdp(port);
  if (!socket) return undefined;
  return { port: socket.address().port, release: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** The same port number when it is free on the host, else one the kernel picks. */
export async function reserveHostPort(
  protocol: 'tcp' | 'udp',
  wanted: number,
  taken: ReadonlySet<number>,
): Promise<PortReservation> {
  const same = taken.has(wanted) ? undefined : await reserveExactly(protocol, wanted);
  if (same) return same;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const any = await reserveExactly(protocol, 0);
    if (any && !taken.has(any.port)) return any;
    await any?.release();
  }
  throw new LauncherError('ERR_LAUNCHER_NETWORK', `no free ${protocol} port on the host`);
}
