// Options that point unmodified @google-cloud/kms and @google-cloud/pubsub clients at a Sealroom deployment.
import * as grpc from '@grpc/grpc-js';
import { type AuthClient, IdentityPoolClient } from 'google-auth-library';
import type { ExternalAccountCredentials } from './credentials.ts';
import { WorkloadError } from './errors.ts';
import { isTransientFailure } from './failure.ts';

/** Where a deployment's APIs listen: REST at `restUrl`, gRPC (TLS with the deployment CA) at `grpcHost:grpcPort`. */
export interface SealroomEndpoint {
  readonly restUrl: string;
  readonly grpcHost?: string;
  readonly grpcPort?: number;
  /** The deployment CA (PEM). Without it grpc-js uses GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, read once at load. */
  readonly caPem?: string;
  /** The name on the server certificate when it differs from grpcHost (e.g. `localhost` for 127.0.0.1). */
  readonly tlsServerName?: string;
}

/**
 * An auth client that exchanges the attestation token at the collaborator's STS and caches the result.
 * The credential was built (and its URLs checked) by buildExternalAccountCredentials, so the library's
 * unvalidated `fromJSON` path (and its console warning) is not needed.
 */
export function createExternalAccountClient(credentials: ExternalAccountCredentials): AuthClient {
  if (credentials.type !== 'external_account') {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'not an external_account credential');
  }
  return new IdentityPoolClient(credentials as never);
}

export type KmsTransport = 'rest' | 'grpc';

export interface KmsClientOptionsInput {
  readonly endpoint: SealroomEndpoint;
  readonly authClient: AuthClient;
  readonly transport?: KmsTransport;
}

/**
 * For `new KeyManagementServiceClient(options)`: REST fallback (default) or gRPC over TLS.
 *
 * @example
 * ```ts
 * const kms = new KeyManagementServiceClient(
 *   kmsClientOptions({ endpoint: { restUrl: 'https://sealroom.collab1.example' }, authClient }) as never,
 * );
 * ```
 */
export function kmsClientOptions(input: KmsClientOptionsInput): Record<string, unknown> {
  if ((input.transport ?? 'rest') === 'rest') {
    const url = parseRestUrl(input.endpoint.restUrl);
    // The port must be passed separately: a host:port apiEndpoint is sent to :443.
    return {
      fallback: true,
      protocol: url.protocol.slice(0, -1),
      apiEndpoint: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      authClient: input.authClient,
    };
  }
  const { host, port } = grpcTarget(input.endpoint);
  return { apiEndpoint: host, port, authClient: input.authClient, ...grpcTls(input.endpoint, input.authClient) };
}

export interface PubsubClientOptionsInput {
  readonly endpoint: SealroomEndpoint;
  readonly authClient: AuthClient;
  readonly projectId?: string;
}

/** For `new PubSub(options)`: gRPC over TLS, authenticated (never the emulator mode, which drops identity). */
export function pubsubClientOptions(input: PubsubClientOptionsInput): Record<string, unknown> {
  const { host, port } = grpcTarget(input.endpoint);
  return {
    apiEndpoint: `${host}:${port}`,
    emulatorMode: false,
    authClient: input.authClient,
    ...(input.projectId === undefined ? {} : { projectId: input.projectId }),
    ...grpcTls(input.endpoint, input.authClient),
  };
}

function grpcTls(endpoint: SealroomEndpoint, authClient: AuthClient): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (endpoint.caPem !== undefined) {
    // gax uses sslCreds as is, so the bearer token must be composed in.
    options.sslCreds = grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(Buffer.from(endpoint.caPem)),
      bearerCallCredentials(authClient),
    );
  }
  if (endpoint.tlsServerName !== undefined) options['grpc.ssl_target_name_override'] = endpoint.tlsServerName;
  return options;
}

/**
 * Per-call `authorization: Bearer …` from the auth client (which caches and refreshes the token).
 * grpc-js's createFromGoogleCredential reads headers as a plain object, which google-auth-library 10+
 * no longer returns, so it would send no token.
 */
export function bearerCallCredentials(authClient: AuthClient): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    authClient.getAccessToken().then(
      ({ token }) => {
        const metadata = new grpc.Metadata();
        if (token) metadata.add('authorization', `Bearer ${token}`);
        callback(null, metadata);
      },
      (error: Error) => callback(toCallCredentialsError(error)),
    );
  });
}

/**
 * The error grpc-js ends the call with when the token could not be had. Without a numeric `code`
 * grpc-js reports UNKNOWN, which clients neither retry (an STS outage would end a StreamingPull for
 * good) nor classify: a transient failure becomes UNAVAILABLE, a permanent one PERMISSION_DENIED.
 */
export function toCallCredentialsError(error: unknown): Error & { code: number } {
  const message = error instanceof Error ? error.message : String(error);
  const code = isTransientFailure(error) ? grpc.status.UNAVAILABLE : grpc.status.PERMISSION_DENIED;
  return Object.assign(new Error(message, { cause: error }), { code });
}

function grpcTarget(endpoint: SealroomEndpoint): { host: string; port: number } {
  if (endpoint.grpcHost === undefined || endpoint.grpcPort === undefined) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'the gRPC transport needs grpcHost and grpcPort');
  }
  return { host: endpoint.grpcHost, port: endpoint.grpcPort };
}

function parseRestUrl(value: string): URL {
  try {
    return new URL(value);
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', 'restUrl is not a URL', { cause });
  }
}
