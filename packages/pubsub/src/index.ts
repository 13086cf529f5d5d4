// Public surface of @sealroom/pubsub.
export { PUBSUB_ERRORS, PubsubError } from './errors.ts';
export type { PubsubErrorCode } from './errors.ts';
export { createPubsubService, createPubsubServiceWith } from './module.ts';
export type { PubsubModule } from './module.ts';
export { loadPubsubConfig, pubsubConfigFragment, toPubsubConfig } from './config.ts';
export type { PubsubConfig, PubsubConfigValues } from './config.ts';
export { SqlPubsubStore } from './sql-store.ts';
export type { PubsubStore } from './store.ts';
export { PubsubService } from './service.ts';
export type { SubscriptionSpec, TopicSpec } from './service.ts';
export { pubsubPolicyRoutes, pubsubRoutes } from './http.ts';
export { pubsubGrpcBindings, pubsubProtoDirs } from './grpc.ts';
