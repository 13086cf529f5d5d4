// Public surface of @sealroom/secrets.
export {};
