// Public surface of @sealroom/builder.
export {};
