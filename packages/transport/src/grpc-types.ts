// The framework-free shape of a gRPC service a package offers: which proto service, which handlers.
import type { Caller } from '@sealroom/core';

export interface GrpcCallContext {
  readonly caller: Caller | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /**
   * Authenticates the call's bearer token again (absent for an anonymous call): long-lived streams ask before
   * each delivery, so a credential disabled or revoked mid-stream stops them at once (throws UNAUTHENTICATED).
   */
  readonly reauthenticate?: () => Promise<Caller>;
}

/** A unary handler: decoded request message in, response message out; throw SealroomError to fail. */
export type GrpcUnaryHandler = (request: Record<string, unknown>, context: GrpcCallContext) => Promise<unknown>;

/** A bidirectional stream handler; the server ends the stream with the error it throws (never OK). */
export interface GrpcBidiStream {
  /** Incoming messages; ends when the client half-closes. */
  readonly incoming: AsyncIterable<Record<string, unknown>>;
  write(message: unknown): Promise<void>;
  readonly signal: AbortSignal;
}

export type GrpcBidiHandler = (stream: GrpcBidiStream, context: GrpcCallContext) => Promise<void>;

export interface GrpcServiceBinding {
  /** Proto files to load, relative to one of includeDirs (e.g. `google/cloud/kms/v1/service.proto`). */
  readonly protoFiles: readonly string[];
  /** Absolute include directories (the protos shipped in npm packages). */
  readonly includeDirs: readonly string[];
  /** Fully qualified service name, e.g. `google.cloud.kms.v1.KeyManagementService`. */
  readonly service: string;
  /** Handlers by method name as in the proto (`Decrypt`, `StreamingPull`); a missing one answers UNIMPLEMENTED. */
  readonly unary?: Readonly<Record<string, GrpcUnaryHandler>>;
  readonly bidi?: Readonly<Record<string, GrpcBidiHandler>>;
  /** `required` (default): an authenticated caller; `optional`: the caller may be undefined. */
  readonly auth?: 'required' | 'optional';
}
