// Public surface of @sealroom/pubsub: the `pubsub` service module, its config fragment and its error catalogue.
export { PUBSUB_ERRORS, PubsubError } from './errors.ts';
export type { PubsubErrorCode } from './errors.ts';
export { createPubsubService, createPubsubServiceWith } from './module.ts';
export { pubsubConfigFragment, toPubsubConfig } from './config.ts';
