// Public surface of @sealroom/verifier.
export {};
