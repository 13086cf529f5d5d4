// The server's listening ports: a port held by another program is named with the flag and the variable
// that change it, before anything is opened; `npm start` replaces a taken default with a free port.
import { createServer } from 'node:net';
import { CoreError } from '@sealroom/core';
import type { ServerConfig } from './config.ts';

/** The two listeners, with the flag and the environment variable that set each. */
export const LISTENERS = {
  port: { what: 'REST', flag: '--port', env: 'SEALROOM_PORT' },
  grpcPort: { what: 'gRPC', flag: '--grpc-port', env: 'SEALROOM_GRPC_PORT' },
} as const;

export type ListenerKey = keyof typeof LISTENERS;

/** Whether another program holds `port` on `host` (a bind that fails with EADDRINUSE). */
export async function portTaken(host: string, port: number): Promise<boolean> {
  if (port <= 0) return false;
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(true);
      else reject(error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** A free port on `host`, chosen by the kernel. */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The one-line error for a taken port: which listener, and how to choose another. */
export function portInUse(key: ListenerKey, host: string, port: number): CoreError {
  const { what, flag, env } = LISTENERS[key];
  return new CoreError(
    'ERR_PORT_IN_USE',
    `The ${what} port ${host}:${port} is in use by another program; choose another with ${flag}=PORT or ${env}=PORT (0 picks a free port).`,
  );
}

/** Fails with ERR_PORT_IN_USE when a configured port is held, so nothing is opened half-way. */
export async function assertPortsFree(config: Pick<ServerConfig, 'host' | 'port' | 'grpcPort'>): Promise<void> {
  for (const key of Object.keys(LISTENERS) as ListenerKey[]) {
    if (await portTaken(config.host, config[key])) throw portInUse(key, config.host, config[key]);
  }
}

export interface PortSubstitution {
  readonly key: ListenerKey;
  readonly taken: number;
  readonly chosen: number;
}

/**
 * For `npm start` on a busy machine: each default port (one the user did not choose: `chosen[key]` false)
 * that another program holds is replaced by a free port. A port the user chose is left as is, so a taken
 * one fails in assertPortsFree with the variable's name.
 */
export async function replaceTakenDefaults<C extends Pick<ServerConfig, 'host' | 'port' | 'grpcPort'>>(
  config: C,
  chosen: Readonly<Record<ListenerKey, boolean>>,
): Promise<{ config: C; substitutions: PortSubstitution[] }> {
  const substitutions: PortSubstitution[] = [];
  let out = config;
  for (const key of Object.keys(LISTENERS) as ListenerKey[]) {
    if (chosen[key] || !(await portTaken(config.host, config[key]))) continue;
    const port = await freePort(config.host);
    substitutions.push({ key, taken: config[key], chosen: port });
    out = { ...out, [key]: port };
  }
  return { config: out, substitutions };
}

/** One line per substitution, naming the variable that pins the port. */
export function describeSubstitution(s: PortSubstitution): string {
  const { what, env } = LISTENERS[s.key];
  return `Port ${s.taken} (${what}) is taken by another program; using ${s.chosen} instead (set ${env} to choose).`;
}
