// The deployment's endpoints as the platform hands them to the workload (/run/sealroom/endpoints.json), and the one
// call that points official Google clients at them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkloadError } from './errors.ts';

/** Where the launcher mounts the platform's files inside the container. */
export const CONTAINER_PLATFORM_DIR = '/run/sealroom';
/** Set by the plain-process runtime, which cannot mount: the host directory standing in for CONTAINER_PLATFORM_DIR. */
export const PLATFORM_DIR_ENV = 'SEALROOM_PLATFORM_DIR';
export const ENDPOINTS_FILE_NAME = 'endpoints.json';

/** One service's endpoints: REST always, gRPC (`host:port`, TLS with the deployment CA) where served. */
export interface ServiceEndpoint {
  readonly rest: string;
  readonly grpc?: string;
}

/** `endpoints.json`, version 1. */
export interface PlatformEndpointsDocument {
  readonly version: 1;
  readonly universeDomain: string;
  readonly rest: string;
  readonly grpc?: string;
  readonly tlsServerName?: string;
  readonly services: Readonly<Record<string, ServiceEndpoint>>;
  readonly stsUrl: string;
  readonly verifierUrl: string;
  readonly caFile: string;
  /** `sha256:<hex>` of the CA file: the token's `submods.sealroom_trust.deployment_ca_digest`. */
  readonly caDigest: string;
}

/** The platform's endpoints; `file` defaults to /run/sealroom/endpoints.json (or the plain-process stand-in). */
export function readPlatformEndpoints(file?: string, env: NodeJS.ProcessEnv = process.env): PlatformEndpointsDocument {
  const path = file ?? join(env[PLATFORM_DIR_ENV] || CONTAINER_PLATFORM_DIR, ENDPOINTS_FILE_NAME);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `the platform's endpoints (${path}) are not readable JSON`, {
      cause,
    });
  }
  const doc = raw as Partial<PlatformEndpointsDocument>;
  if (doc.version !== 1 || typeof doc.rest !== 'string' || typeof doc.universeDomain !== 'string' || !doc.services) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `${path} is not a version 1 endpoints document`);
  }
  return doc as PlatformEndpointsDocument;
}

export interface GoogleClientOptionsInput {
  /** gRPC (the default where the service has a gRPC endpoint) or REST (`fallback: true`). */
  readonly transport?: 'grpc' | 'rest';
  /** Another endpoints document (tests); read from the platform by default. */
  readonly endpoints?: PlatformEndpointsDocument;
}

/**
 * Options for an official Google client (`new PubSub(…)`, `new KeyManagementServiceClient(…)`,
 * `new SecretManagerServiceClient(…)`): the deployment's endpoint and universe domain from the platform.
 * Credentials stay the client's default (Application Default Credentials: the instance's attached service
 * account through its metadata server), and TLS trusts the deployment CA through the trust store the
 * launcher sets up (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS).
 *
 * @example
 * ```ts
 * const pubsub = new PubSub(googleClientOptions('pubsub'));
 * const kms = new KeyManagementServiceClient(googleClientOptions('cloudkms'));
 * ```
 */
export function googleClientOptions(service: string, input: GoogleClientOptionsInput = {}): Record<string, unknown> {
  const doc = input.endpoints ?? readPlatformEndpoints();
  const endpoint = doc.services[service];
  if (!endpoint) throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `the platform names no endpoint for ${service}`);
  const common = {
    universeDomain: doc.universeDomain,
    ...(doc.tlsServerName === undefined ? {} : { 'grpc.ssl_target_name_override': doc.tlsServerName }),
  };
  if ((input.transport ?? (endpoint.grpc ? 'grpc' : 'rest')) === 'grpc') {
    if (!endpoint.grpc)
      throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `the platform serves ${service} over REST only`);
    const at = endpoint.grpc.lastIndexOf(':');
    const host = endpoint.grpc.slice(0, at);
    const port = Number(endpoint.grpc.slice(at + 1));
    // Pub/Sub reads the port from a `host:port` apiEndpoint; the generated clients take `port` beside it.
    return service === 'pubsub'
      ? { ...common, apiEndpoint: `${host}:${port}`, emulatorMode: false }
      : { ...common, apiEndpoint: host, port };
  }
  const url = new URL(endpoint.rest);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return {
    ...common,
    fallback: true,
    protocol: url.protocol.slice(0, -1),
    ...(service === 'pubsub' ? { apiEndpoint: `${url.hostname}:${port}` } : { apiEndpoint: url.hostname, port }),
  };
}
