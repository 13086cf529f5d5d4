// Public surface of @sealroom/registry.
export {};
