// The control plane's loopback ports an isolated instance is bridged to (its namespace reaches the host's
// loopback only through them).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * The control plane's ports on the host's loopback (REST, and the gRPC endpoint handed to instances): an isolated
 * workload configured with `http://127.0.0.1:PORT` reaches them through its namespace's bridge. The gRPC endpoint
 * is the one this process serves (`served`), never another replica's: replicas sharing a state directory overwrite
 * each other's `endpoints.json`, which is read only for instances that boot before the listeners are up (a joined
 * host has no such file: its control plane names the endpoint).
 */
export function controlPlaneLoopbackPorts(
  baseUrl: string,
  stateDir: string | undefined,
  served?: { readonly host: string; readonly port: number },
): number[] {
  const ports: number[] = [];
  const add = (host: string, port: string) => {
    if (LOOPBACK_HOST.test(host) && /^\d{1,5}$/.test(port)) ports.push(Number(port));
  };
  const rest = new URL(baseUrl);
  add(rest.hostname, rest.port || (rest.protocol === 'https:' ? '443' : '80'));
  if (served) {
    add(served.host, String(served.port));
    return ports;
  }
  const file = stateDir === undefined ? undefined : join(stateDir, 'endpoints.json');
  if (file && existsSync(file)) {
    try {
      const grpc = (JSON.parse(readFileSync(file, 'utf8')) as { grpc?: unknown }).grpc;
      if (typeof grpc === 'string') {
        const at = grpc.lastIndexOf(':');
        add(grpc.slice(0, at), grpc.slice(at + 1));
      }
    } catch {
      // A half-written file: the REST port alone.
    }
  }
  return ports;
}
