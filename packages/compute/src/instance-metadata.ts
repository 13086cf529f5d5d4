// Per instance, the host's side of the metadata server: its listener, its tokens, and the platform files it names.
import { randomInt } from 'node:crypto';
import type { Clock, Logger } from '@sealroom/core';
import {
  type MetadataServer,
  type PlatformEndpoints,
  type PlatformFiles,
  startMetadataServer,
  writePlatformFiles,
} from '@sealroom/launcher';
import type { InstanceCredentials } from './embedded-agent.ts';
import type { BootRequest } from './host-agent.ts';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Compute Engine's metadata server listens on port 80; an unprivileged host falls back to any free port. */
export const METADATA_SERVER_PORT = 80;
const METADATA_PORT = METADATA_SERVER_PORT;
const LOOPBACK_ATTEMPTS = 8;

/**
 * The instance's own addresses when the host gave it a network namespace: the metadata server binds the gateway
 * address and admits only the instance address.
 */
export interface InstanceNetworkAddresses {
  readonly gatewayAddress: string;
  readonly instanceAddress: string;
}

export interface InstanceMetadataOptions {
  readonly request: BootRequest;
  /** The instance's directory on the host. */
  readonly dir: string;
  readonly universeDomain: string;
  readonly credentials: InstanceCredentials;
  readonly endpoints?: PlatformEndpoints;
  /** Absent: no network namespace, so a loopback listener of the instance's own (not isolated). */
  readonly network?: InstanceNetworkAddresses;
  /** A unix socket for the instance's launcher (`sealroom launcher --metadata-host unix:PATH`). */
  readonly launcherSocket?: string;
  /** The deployment's REST base URL, named to the launcher under `sealroom/api-endpoint`. */
  readonly apiEndpoint?: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface InstanceMetadata {
  readonly server: MetadataServer;
  readonly files: PlatformFiles;
  /** Whether only the instance can reach its metadata server (it has a network namespace). */
  readonly isolated: boolean;
  /** The serial-console line that says where the server is and whether it is isolated. */
  readonly description: string;
  close(): Promise<void>;
}

/** Starts the instance's metadata server and writes the files that point its workload at it. */
export async function startInstanceMetadata(options: InstanceMetadataOptions): Promise<InstanceMetadata> {
  const { request } = options;
  const email = request.serviceAccountEmail;
  const scopes = request.serviceAccountScopes?.length ? request.serviceAccountScopes : [CLOUD_PLATFORM_SCOPE];
  const credentials = options.credentials;
  const serverOptions = {
    facts: {
      id: request.instanceId,
      name: request.name,
      zone: request.zone,
      projectId: request.projectId,
      projectNumber: request.projectNumber,
      universeDomain: options.universeDomain,
      serviceAccount: { email, scopes },
      ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    },
    attributes: request.metadata,
    credentials: {
      accessToken: async (wanted: readonly string[]) => {
        const now = options.clock.now();
        if (credentials.scopedAccessToken) {
          const token = await credentials.scopedAccessToken(email, wanted);
          return {
            accessToken: token.accessToken,
            expiresInSeconds: Math.max(0, Math.floor((token.expiresAt - now) / 1000)),
          };
        }
        return { accessToken: await credentials.accessToken(email), expiresInSeconds: 3599 };
      },
      identityToken: async (wanted: { audience: string; format: 'standard' | 'full'; licenses: boolean }) =>
        credentials.idToken(
          email,
          wanted.audience,
          email,
          wanted.format === 'full' ? fullClaims(request, wanted.licenses) : undefined,
        ),
    },
    ...(options.launcherSocket === undefined ? {} : { launcherSocket: options.launcherSocket }),
    logger: options.logger,
  };
  const server = options.network
    ? await startMetadataServer({
        ...serverOptions,
        host: options.network.gatewayAddress,
        port: METADATA_PORT,
        allowedPeers: [options.network.instanceAddress],
      })
    : await startOnLoopback((host, port) => startMetadataServer({ ...serverOptions, host, port }));
  try {
    const files = await writePlatformFiles({
      dir: options.dir,
      hostname: request.name,
      metadata: { host: server.host, port: server.port },
      ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    });
    const isolated = options.network !== undefined;
    const description = isolated
      ? `sealroom: metadata server at ${server.hostPort}, answering only the instance address ${options.network?.instanceAddress}`
      : `sealroom: metadata server at ${server.hostPort} on loopback: NOT isolated (the instance has no network namespace), any process on this host can read it and get the instance's tokens`;
    return { server, files, isolated, description, close: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** The `google.compute_engine` claims of an ID token with format=full, as Compute Engine adds them. */
export function fullClaims(request: BootRequest, licenses: boolean): Record<string, unknown> {
  return {
    google: {
      compute_engine: {
        project_id: request.projectId,
        project_number: Number(request.projectNumber),
        zone: request.zone,
        instance_id: request.instanceId,
        instance_name: request.name,
        ...(request.createTime === undefined
          ? {}
          : { instance_creation_timestamp: Math.floor(request.createTime / 1000) }),
        ...(licenses ? { license_id: [] } : {}),
      },
    },
  };
}

/**
 * A loopback address of the instance's own (127.x.y.z, never 127.0.0.x), on port 80 so metadata.google.internal
 * works through /etc/hosts; where port 80 cannot be had, any free port (GCE_METADATA_HOST names it).
 */
async function startOnLoopback(
  start: (host: string, port: number) => Promise<MetadataServer>,
): Promise<MetadataServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < LOOPBACK_ATTEMPTS; attempt += 1) {
    const host = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    // Port 80 may be refused (no privilege) or taken on every address (a host-wide listener): then any port.
    for (const port of [METADATA_PORT, 0]) {
      try {
        return await start(host, port);
      } catch (error) {
        lastError = error;
      }
    }
  }
  throw lastError;
}
