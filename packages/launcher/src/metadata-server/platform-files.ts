// What the platform gives the workload besides its metadata server: endpoints.json, the deployment CA, /etc/hosts.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CONTAINER_PLATFORM_DIR } from '../runtime/types.ts';

export const ENDPOINTS_FILE_NAME = 'endpoints.json';
/** The deployment CA alone (NODE_EXTRA_CA_CERTS adds it to Node's roots). */
export const CA_FILE_NAME = 'ca.pem';
/** The deployment CA and the public roots Node ships (SSL_CERT_FILE and gRPC's roots file replace the defaults). */
export const CA_BUNDLE_FILE_NAME = 'ca-bundle.pem';
/** The name Google's client libraries try when GCE_METADATA_HOST is unset. */
export const METADATA_HOSTNAME = 'metadata.google.internal';

/** The deployment's endpoints as the control plane knows them. */
export interface PlatformEndpoints {
  /** The REST base URL of every API (`https://sealroom.example`). */
  readonly rest: string;
  /** The gRPC listener (TLS with the deployment CA), when the deployment serves gRPC. */
  readonly grpc?: { readonly host: string; readonly port: number };
  /** The name on the gRPC server's certificate when it differs from `grpc.host`. */
  readonly tlsServerName?: string;
  readonly universeDomain: string;
  /** The deployment CA, PEM: what the workload trusts besides the public roots. */
  readonly caPem: string;
}

/** The services endpoints.json names; each is reached at the deployment's REST URL and, where served, its gRPC one. */
export const PLATFORM_SERVICES = [
  'cloudkms',
  'confidentialcomputing',
  'iamcredentials',
  'logging',
  'pubsub',
  'secretmanager',
  'sts',
] as const;
const GRPC_SERVICES = new Set<string>(['cloudkms', 'pubsub']);

/** `/run/sealroom/endpoints.json`, version 1 (docs/launcher.md documents each field). */
export function toEndpointsDocument(endpoints: PlatformEndpoints): Record<string, unknown> {
  const rest = endpoints.rest.replace(/\/+$/, '');
  const grpc = endpoints.grpc ? `${endpoints.grpc.host}:${endpoints.grpc.port}` : undefined;
  return {
    version: 1,
    universeDomain: endpoints.universeDomain,
    rest,
    ...(grpc === undefined ? {} : { grpc }),
    ...(endpoints.tlsServerName === undefined ? {} : { tlsServerName: endpoints.tlsServerName }),
    services: Object.fromEntries(
      PLATFORM_SERVICES.map((name) => [
        name,
        { rest, ...(grpc !== undefined && GRPC_SERVICES.has(name) ? { grpc } : {}) },
      ]),
    ),
    stsUrl: `${rest}/v1/token`,
    verifierUrl: rest,
    caFile: `${CONTAINER_PLATFORM_DIR}/${CA_FILE_NAME}`,
    caDigest: caDigest(endpoints.caPem),
  };
}

/** `sha256:<hex>` of the CA PEM as given: what the launch measures and the token shows. */
export function caDigest(caPem: string): string {
  return `sha256:${createHash('sha256').update(caPem).digest('hex')}`;
}

export interface PlatformFiles {
  /** The host directory to mount at /run/sealroom. */
  readonly platformDir: string;
  /** The host file to mount at /etc/hosts. */
  readonly hostsFile: string;
  /** `NAME=value` entries the container gets after the image's own. */
  readonly env: readonly string[];
  /** `sha256:<hex>` of the deployment CA put in the trust store, when there is one. */
  readonly trustedCaDigest?: string;
}

export interface WritePlatformFilesOptions {
  /** A directory of this instance on the host; `platform/` and `hosts` are written under it. */
  readonly dir: string;
  readonly hostname: string;
  /** Where the instance's metadata server listens. */
  readonly metadata: { readonly host: string; readonly port: number };
  /** Absent when the control plane has not said (the workload then gets only the metadata server). */
  readonly endpoints?: PlatformEndpoints;
}

/** Writes the platform's files for one boot and returns the mounts and environment that make them visible. */
export async function writePlatformFiles(options: WritePlatformFilesOptions): Promise<PlatformFiles> {
  const platformDir = join(options.dir, 'platform');
  await mkdir(platformDir, { recursive: true, mode: 0o755 });
  const { host, port } = options.metadata;
  const hostPort = port === 80 ? host : `${host}:${port}`;
  // GCE_METADATA_ROOT is the name older google-auth (Python) releases read.
  const env = [`GCE_METADATA_HOST=${hostPort}`, `GCE_METADATA_IP=${hostPort}`, `GCE_METADATA_ROOT=${hostPort}`];
  if (options.endpoints) {
    const { caPem } = options.endpoints;
    const pem = caPem.endsWith('\n') ? caPem : `${caPem}\n`;
    await writeFile(join(platformDir, CA_FILE_NAME), pem, { mode: 0o644 });
    await writeFile(join(platformDir, CA_BUNDLE_FILE_NAME), [pem, ...rootCertificates.map((c) => `${c}\n`)].join(''), {
      mode: 0o644,
    });
    await writeFile(
      join(platformDir, ENDPOINTS_FILE_NAME),
      `${JSON.stringify(toEndpointsDocument(options.endpoints), null, 2)}\n`,
      { mode: 0o644 },
    );
    const bundle = `${CONTAINER_PLATFORM_DIR}/${CA_BUNDLE_FILE_NAME}`;
    env.push(
      `SSL_CERT_FILE=${bundle}`,
      `NODE_EXTRA_CA_CERTS=${CONTAINER_PLATFORM_DIR}/${CA_FILE_NAME}`,
      `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=${bundle}`,
    );
  }
  const hostsFile = join(options.dir, 'hosts');
  await writeFile(
    hostsFile,
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `127.0.1.1\t${options.hostname}`,
      `${host}\t${METADATA_HOSTNAME} metadata`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return {
    platformDir,
    hostsFile,
    env,
    ...(options.endpoints ? { trustedCaDigest: caDigest(options.endpoints.caPem) } : {}),
  };
}
