// Public surface of @sealroom/kms: the `kms` service module and its error catalogue (the rest is internal).
export { KMS_ERRORS, KmsError } from './errors.ts';
export type { KmsErrorCode } from './errors.ts';
export { createKmsService } from './module.ts';
