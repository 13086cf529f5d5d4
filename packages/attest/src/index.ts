// Public surface of @sealroom/attest.
export {};
