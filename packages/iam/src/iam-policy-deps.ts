// The slice of ServiceContext the shared IAM policy routes use.
import type { ServiceContext } from '@sealroom/transport';

export { CoreError, notFound, permissionDenied } from '@sealroom/core';
export type ServiceContextLike = Pick<
  ServiceContext,
  'db' | 'authorizer' | 'audit' | 'projects' | 'clock' | 'settings'
>;
