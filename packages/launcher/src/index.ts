// Public surface of @sealroom/launcher.
export {};
