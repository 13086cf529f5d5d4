// Public surface of @sealroom/pubsub.
export { PUBSUB_ERRORS, PubsubError } from './errors.ts';
export type { PubsubErrorCode } from './errors.ts';
export { SqlPubsubStore } from './sql-store.ts';
export type { PubsubStore } from './store.ts';
export { PubsubService } from './service.ts';
export type { SubscriptionSpec, TopicSpec } from './service.ts';
