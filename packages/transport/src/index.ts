// Public surface of @sealroom/transport: REST routes and gRPC bindings, and the adapters that serve them.
export { ApiReply, reply } from './api.ts';
export type { ApiRequest, ApiResponse, ApiRoute, AuthMode, BodyMode, ErrorMapper, HttpMethod } from './api.ts';
export type {
  DeploymentSettings,
  ModuleGauge,
  RequestSample,
  ServiceContext,
  ServiceFactory,
  ServiceModule,
  ServingEndpoints,
} from './service.ts';
export type {
  GrpcBidiHandler,
  GrpcBidiStream,
  GrpcCallContext,
  GrpcServiceBinding,
  GrpcUnaryHandler,
} from './grpc-types.ts';
export { buildRestApp } from './rest-app.ts';
export type { RestAppOptions } from './rest-app.ts';
export { compileTemplate } from './path-template.ts';
export type { CompiledTemplate } from './path-template.ts';
export { DEFAULT_BODY_LIMIT_BYTES, parseForm, readBody } from './body.ts';
export { ERROR_DOMAIN, toGoogleError } from './errors-wire.ts';
export type { GoogleErrorBody } from './errors-wire.ts';
export { parseWith } from './validate.ts';
export {
  configTextKindOf,
  defineConfigFragment,
  describeConfigKey,
  fromConfigText,
  parseConfigFragment,
  readConfigEnv,
  readConfigFile,
  toConfigError,
} from './config-fragment.ts';
export type {
  ConfigEnvValues,
  ConfigFragment,
  ConfigFragmentSpec,
  ConfigKey,
  ConfigKeys,
  ConfigSchema,
  ConfigTextKind,
  ConfigValues,
} from './config-fragment.ts';
export { issueDeploymentClientCertificate, loadOrCreateDeploymentTls } from './tls.ts';
export type { ClientCertificateOptions, DeploymentTls } from './tls.ts';
export { GRPC_LOADER_OPTIONS, startGrpcServer, toGrpcStatus } from './grpc/server.ts';
export type { GrpcServer, GrpcServerOptions } from './grpc/server.ts';
export { iamPolicyBinding, policyRoutesOf } from './grpc/iam-policy.ts';
export { findGaxProtoDir } from './grpc/protos.ts';
