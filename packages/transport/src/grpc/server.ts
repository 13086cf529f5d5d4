// The gRPC server kit: serves GrpcServiceBindings with grpc-js and the protos shipped in npm packages,
// bearer tokens from `authorization` metadata, TLS with the deployment's certificate, SealroomError → status.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  type Authenticator,
  CoreError,
  GRPC_CODE_OF,
  isSealroomError,
  type Logger,
  storageFaultKindOf,
  storageFaultOf,
} from '@sealroom/core';
import type { GrpcBidiStream, GrpcCallContext, GrpcServiceBinding } from '../grpc-types.ts';
import type { RequestSample } from '../service.ts';
import { createWireChecker, requestTypeNameOf } from './wire-check.ts';

export interface GrpcServerOptions {
  readonly bindings: readonly GrpcServiceBinding[];
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** PEM key and certificate chain (the deployment's, issued by its CA); plaintext when absent. */
  readonly tls?: { readonly keyPem: string; readonly certPem: string };
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Told of every finished call (the deployment's metrics). */
  readonly onCallDone?: (sample: RequestSample) => void;
}

export interface GrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * How request messages reach handlers: camelCase fields, int64 as decimal strings, enums as names,
 * bytes as Buffers, absent fields absent (no defaults), oneofs named. Responses may use names or
 * numbers for enums and Buffers or base64 for bytes (protobufjs `fromObject` takes both).
 */
export const GRPC_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

const MAX_MESSAGE_BYTES = 20 * 1024 * 1024;
const SHUTDOWN_GRACE_MS = 2000;

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
  });
  const cache = new Map<string, LoadedProtos>();
  for (const binding of options.bindings) addBinding(server, binding, options, cache);
  // Client certificates are not requested; the roots argument is given anyway because with null grpc-js
  // reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, which a process sets for its *clients* (docs/kms.md, "Clients").
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        Buffer.from(options.tls.certPem),
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
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

interface LoadedProtos {
  readonly root: grpc.GrpcObject;
  readonly definition: protoLoader.PackageDefinition;
  readonly checkWire: (typeName: string, bytes: Uint8Array) => void;
}

function loadProtos(binding: GrpcServiceBinding, cache: Map<string, LoadedProtos>): LoadedProtos {
  const key = JSON.stringify([binding.protoFiles, binding.includeDirs]);
  let loaded = cache.get(key);
  if (!loaded) {
    const definition = protoLoader.loadSync([...binding.protoFiles], {
      ...GRPC_LOADER_OPTIONS,
      includeDirs: [...binding.includeDirs],
    });
    loaded = { root: grpc.loadPackageDefinition(definition), definition, checkWire: createWireChecker(definition) };
    cache.set(key, loaded);
  }
  return loaded;
}

function findService(root: grpc.GrpcObject, name: string): grpc.ServiceDefinition {
  let node: unknown = root;
  for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  const definition = (node as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (!definition) throw new CoreError('ERR_INTERNAL', `gRPC service ${name} is not in the loaded protos.`);
  return definition;
}

function addBinding(
  server: grpc.Server,
  binding: GrpcServiceBinding,
  options: GrpcServerOptions,
  cache: Map<string, LoadedProtos>,
): void {
  const protos = loadProtos(binding, cache);
  const definition = withTolerantDecoding(findService(protos.root, binding.service), protos);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const label = `${binding.service}/${method}`;
    if (!spec.requestStream && !spec.responseStream) {
      const unary = binding.unary?.[method];
      implementation[method] = (
        call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const controller = new AbortController();
        call.once('cancelled', () => controller.abort());
        const started = performance.now();
        (async () => {
          if (!unary) throw new CoreError('ERR_UNIMPLEMENTED', `Method ${label} is not implemented.`);
          const context = await contextOf(call.metadata, binding, options, controller.signal);
          return unary(decodedOrThrow(call.request, spec), context);
        })().then(
          (response) => {
            callback(null, response);
            reportCall(options, label, grpc.status.OK, started);
          },
          (error: unknown) => {
            const status = toServiceError(error, options.logger, label);
            callback(status);
            reportCall(options, label, status.code ?? grpc.status.UNKNOWN, started);
          },
        );
      };
    } else if (spec.requestStream && spec.responseStream) {
      const bidi = binding.bidi?.[method];
      implementation[method] = (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
        const controller = new AbortController();
        call.once('cancelled', () => controller.abort());
        call.once('close', () => controller.abort());
        const started = performance.now();
        (async () => {
          if (!bidi) throw new CoreError('ERR_UNIMPLEMENTED', `Method ${label} is not implemented.`);
          const context = await contextOf(call.metadata, binding, options, controller.signal);
          const stream: GrpcBidiStream = {
            incoming: decodedMessages(call as AsyncIterable<unknown>, spec),
            write: (message) =>
              new Promise<void>((resolve) => {
                if (call.write(message)) resolve();
                else call.once('drain', () => resolve());
              }),
            signal: controller.signal,
          };
          await bidi(stream, context);
          // A stream never ends with OK (Pub/Sub clients treat OK as a bug): the server going away is UNAVAILABLE.
          throw new CoreError('ERR_UNAVAILABLE', 'The stream was closed by the server.');
        })().catch((error: unknown) => {
          if (!controller.signal.aborted || isSealroomError(error)) {
            call.emit('error', toServiceError(error, options.logger, label));
          }
          const code = controller.signal.aborted ? grpc.status.CANCELLED : toGrpcStatus(error).code;
          reportCall(options, label, code, started);
        });
      };
    } else {
      implementation[method] = (_call: unknown, callback?: grpc.sendUnaryData<unknown>) => {
        const error = toServiceError(
          new CoreError('ERR_UNIMPLEMENTED', `Method ${label} is not implemented.`),
          options.logger,
          label,
        );
        if (typeof callback === 'function') callback(error);
      };
    }
  }
  server.addService(definition, implementation);
}

/** What the tolerant deserializer hands on for bytes that are not the method's request message. */
class UndecodableMessage {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

/**
 * The same service with request deserializers that never throw. grpc-js answers a deserializer that
 * throws with INTERNAL, which official clients retry as a server fault; garbage from a caller is the
 * caller's error, so the handler answers INVALID_ARGUMENT instead (after authentication, as for any
 * other bad request).
 */
function withTolerantDecoding(definition: grpc.ServiceDefinition, protos: LoadedProtos): grpc.ServiceDefinition {
  const tolerant: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, spec] of Object.entries(definition)) {
    const requestType = requestTypeNameOf(protos.definition, spec);
    tolerant[method] = {
      ...spec,
      requestDeserialize: (bytes: Buffer) => {
        try {
          if (requestType) protos.checkWire(requestType, bytes);
          const message = spec.requestDeserialize(bytes);
          if (message === null || typeof message !== 'object')
            throw new CoreError('ERR_BAD_REQUEST_BODY', 'The request is not a message.');
          return message;
        } catch (error) {
          return new UndecodableMessage(error);
        }
      },
    };
  }
  return tolerant as grpc.ServiceDefinition;
}

function decodedOrThrow(message: unknown, spec: grpc.MethodDefinition<unknown, unknown>): Record<string, unknown> {
  if (message instanceof UndecodableMessage) {
    throw new CoreError(
      'ERR_BAD_REQUEST_BODY',
      `Invalid request: the message sent to ${spec.path.slice(1)} is not a valid protocol buffer of its request type.`,
      { cause: message.cause },
    );
  }
  return message as Record<string, unknown>;
}

/**
 * The stream's messages, failing at the first malformed one. Iterated by hand: a `for await` would
 * destroy the call's stream on the throw, and the status (INVALID_ARGUMENT) could then never be sent.
 */
async function* decodedMessages(
  incoming: AsyncIterable<unknown>,
  spec: grpc.MethodDefinition<unknown, unknown>,
): AsyncIterable<Record<string, unknown>> {
  const iterator = incoming[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    yield decodedOrThrow(next.value, spec);
  }
}

async function contextOf(
  metadata: grpc.Metadata,
  binding: GrpcServiceBinding,
  options: GrpcServerOptions,
  signal: AbortSignal,
): Promise<GrpcCallContext> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (key !== 'authorization') headers[key] = String(value);
  }
  const header = metadata.get('authorization')[0];
  const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
  if (match) {
    const token = match[1] as string;
    const reauthenticate = () => options.authenticator.authenticate(token);
    return { caller: await reauthenticate(), metadata: headers, signal, reauthenticate };
  }
  if ((binding.auth ?? 'required') === 'required') {
    throw new CoreError(
      'ERR_UNAUTHENTICATED',
      'Request is missing required authentication credential. Expected OAuth 2 access token or other valid authentication credential.',
    );
  }
  return { caller: undefined, metadata: headers, signal };
}

/** One mapping from errors to gRPC statuses, failing closed like the REST one. */
export function toGrpcStatus(thrown: unknown): { code: number; details: string } {
  const error = isSealroomError(thrown) ? thrown : (storageFaultOf(thrown) ?? thrown);
  if (isSealroomError(error)) return { code: GRPC_CODE_OF[error.status], details: error.message };
  return { code: grpc.status.INTERNAL, details: 'Internal error encountered.' };
}

/** gRPC status names by number (`grpc.status` maps both ways in the proto, one way in grpc-js). */
const STATUS_NAMES = new Map<number, string>(
  Object.entries(grpc.status).flatMap(([name, value]) => (typeof value === 'number' ? [[value, name]] : [])),
);

function reportCall(options: GrpcServerOptions, label: string, code: number, started: number): void {
  options.onCallDone?.({
    transport: 'grpc',
    method: label,
    route: label,
    code: STATUS_NAMES.get(code) ?? String(code),
    seconds: (performance.now() - started) / 1000,
  });
}

function toServiceError(error: unknown, logger: Logger, method: string): Partial<grpc.StatusObject> {
  const status = toGrpcStatus(error);
  if (status.code === grpc.status.INTERNAL || storageFaultKindOf(error)) {
    logger.error({ method, error }, 'gRPC call failed');
  }
  return { ...status, metadata: new grpc.Metadata() };
}
