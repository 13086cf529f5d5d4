// Public surface of @sealroom/kms.
export {};
