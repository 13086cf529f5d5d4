// Public surface of @sealroom/pubsub.
export {};
