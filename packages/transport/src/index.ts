// Public surface of @sealroom/transport: REST routes and gRPC bindings, and the adapters that serve them.
export { ApiReply, reply } from './api.ts';
export type { ApiRequest, ApiResponse, ApiRoute, AuthMode, BodyMode, ErrorMapper, HttpMethod } from './api.ts';
export type { DeploymentSettings, ServiceContext, ServiceFactory, ServiceModule } from './service.ts';
export type {
  GrpcBidiHandler,
  GrpcBidiStream,
  GrpcCallContext,
  GrpcServiceBinding,
  GrpcUnaryHandler,
} from './grpc-types.ts';
