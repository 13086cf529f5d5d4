// Public surface of @sealroom/cel.
export {};
