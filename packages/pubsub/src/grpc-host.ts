// A small grpc-js host for GrpcServiceBindings: the plaintext emulator port, and TLS in tests.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Authenticator, Caller, Logger } from '@sealroom/core';
import { CoreError, GRPC_CODE_OF, isSealroomError } from '@sealroom/core';
import type { GrpcBidiStream, GrpcCallContext, GrpcServiceBinding } from '@sealroom/transport';

export interface GrpcHostOptions {
  readonly bindings: readonly GrpcServiceBinding[];
  readonly authenticator?: Authenticator;
  readonly logger: Logger;
  /** PEM key and certificate chain for TLS; plaintext when absent. */
  readonly tls?: { readonly keyPem: string; readonly certPem: string };
  readonly host?: string;
  readonly port?: number;
}

export interface GrpcHost {
  readonly port: number;
  close(): Promise<void>;
}

/** Messages up to 10 MB must arrive so the service can refuse them with Pub/Sub's own error. */
const MAX_MESSAGE_BYTES = 20 * 1024 * 1024;
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

export async function startGrpcHost(options: GrpcHostOptions): Promise<GrpcHost> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  for (const binding of options.bindings) addBinding(server, binding, options);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        null,
        [{ private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certPem) }],
        false,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host ?? '127.0.0.1'}:${options.port ?? 0}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function findService(root: grpc.GrpcObject, name: string): grpc.ServiceDefinition {
  let node: unknown = root;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  const definition = (node as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (!definition) throw new CoreError('ERR_INTERNAL', `gRPC service ${name} is not in the loaded protos.`);
  return definition;
}

function addBinding(server: grpc.Server, binding: GrpcServiceBinding, options: GrpcHostOptions): void {
  const packageDefinition = protoLoader.loadSync([...binding.protoFiles], {
    ...LOADER_OPTIONS,
    includeDirs: [...binding.includeDirs],
  });
  const definition = findService(grpc.loadPackageDefinition(packageDefinition), binding.service);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const unary = binding.unary?.[method];
    const bidi = binding.bidi?.[method];
    if (!spec.requestStream && !spec.responseStream) {
      implementation[method] = (
        call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        void (async () => {
          if (!unary) throw new CoreError('ERR_UNIMPLEMENTED', `Method ${method} is not implemented.`);
          const controller = new AbortController();
          call.once('cancelled', () => controller.abort());
          const context = await contextOf(call.metadata, binding, options, controller.signal);
          return unary(call.request, context);
        })().then(
          (response) => callback(null, response),
          (error: unknown) => callback(toServiceError(error, options.logger, method)),
        );
      };
    } else if (spec.requestStream && spec.responseStream) {
      implementation[method] = (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
        const controller = new AbortController();
        call.once('cancelled', () => controller.abort());
        call.once('close', () => controller.abort());
        void (async () => {
          if (!bidi) throw new CoreError('ERR_UNIMPLEMENTED', `Method ${method} is not implemented.`);
          const context = await contextOf(call.metadata, binding, options, controller.signal);
          const stream: GrpcBidiStream = {
            incoming: call as AsyncIterable<Record<string, unknown>>,
            write: (message) =>
              new Promise<void>((resolve) => {
                if (call.write(message)) resolve();
                else call.once('drain', () => resolve());
              }),
            signal: controller.signal,
          };
          await bidi(stream, context);
          throw new CoreError('ERR_UNAVAILABLE', 'The stream was closed by the server.');
        })().catch((error: unknown) => {
          if (!controller.signal.aborted || isSealroomError(error)) {
            call.emit('error', toServiceError(error, options.logger, method));
          }
        });
      };
    }
  }
  server.addService(definition, implementation);
}

async function contextOf(
  metadata: grpc.Metadata,
  binding: GrpcServiceBinding,
  options: GrpcHostOptions,
  signal: AbortSignal,
): Promise<GrpcCallContext> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) headers[key] = String(value);
  let caller: Caller | undefined;
  const header = headers.authorization;
  const match = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
  if (match && options.authenticator) caller = await options.authenticator.authenticate(match[1] as string);
  else if ((binding.auth ?? 'required') === 'required') {
    throw new CoreError(
      'ERR_UNAUTHENTICATED',
      'Request is missing required authentication credential. Expected OAuth 2 access token or other valid authentication credential.',
    );
  }
  const { authorization: _, ...rest } = headers;
  return { caller, metadata: rest, signal };
}

function toServiceError(error: unknown, logger: Logger, method: string): Partial<grpc.StatusObject> {
  if (isSealroomError(error)) {
    return { code: GRPC_CODE_OF[error.status], details: error.message, metadata: new grpc.Metadata() };
  }
  logger.error({ method, error }, 'gRPC call failed');
  return { code: grpc.status.INTERNAL, details: 'Internal error encountered.', metadata: new grpc.Metadata() };
}
