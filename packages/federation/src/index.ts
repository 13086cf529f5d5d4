// Public surface of @sealroom/federation.
export {};
