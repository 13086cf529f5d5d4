// Public surface of @sealroom/iam: members, roles, policies, credentials, audit log, and the iam routes.
export { IAM_ERRORS, IamError } from './errors.ts';
export type { IamErrorCode } from './errors.ts';
export { memberMatches, parseMember, principalOf } from './members.ts';
export type { Member } from './members.ts';
export { DATA_PLANE_PERMISSIONS, describeRole, isKnownRole, listRoles, roleGrants } from './roles/index.ts';
export type { RoleDefinition } from './roles/index.ts';
export { addBinding, checkPolicyConditions, EMPTY_POLICY_ETAG, parsePolicyInput, removeBinding } from './policy.ts';
export type { Binding, Policy } from './policy.ts';
export { createSqlPolicyStore } from './policy-store.ts';
export type { PolicyStore } from './policy-store.ts';
export { createAuthorizer } from './authorizer.ts';
export type { ConditionEvaluator, IamAuthorizer } from './authorizer.ts';
export { canonicalResource } from './resource-canonical.ts';
export { iamPolicyRoutes, toPolicyJson } from './iam-policy-routes.ts';
export type { IamPolicyRouteOptions } from './iam-policy-routes.ts';
export { ACCESS_TOKEN_TTL_MS, digestToken } from './credentials.ts';
export type { CredentialStore, TokenOrigin, UserRecord } from './credentials.ts';
export { checkGroupMember, MAX_GROUP_MEMBERS } from './groups.ts';
export type { Group, GroupStore } from './groups.ts';
export { GOOGLE_TOKEN_AUDIENCE } from './jwt-grant.ts';
export { tokenAudiences } from './http-auth.ts';
export { MAX_KEYS_PER_SERVICE_ACCOUNT } from './service-account-keys.ts';
export type { ServiceAccountKeyInfo, ServiceAccountKeyStore } from './service-account-keys.ts';
export { ID_TOKEN_TTL_MS } from './id-tokens.ts';
export type { IdTokenIssuer } from './id-tokens.ts';
export { SERVICE_ACCOUNT_UNDELETE_WINDOW_MS, serviceAccountEmail } from './service-accounts.ts';
export type { ServiceAccount, ServiceAccountStore } from './service-accounts.ts';
export {
  AUDIT_LOG_ID,
  AUDIT_MIGRATIONS,
  DATA_ACCESS_LOG_ID,
  DEPLOYMENT_LOG,
  createProjectLog,
  toLogEntryJson,
} from './audit.ts';
export type { AuditSink, ChainVerification, LogEntryInput, ProjectLog, Severity } from './audit.ts';
export type { Project, ProjectStore } from './projects.ts';
export { createIam } from './module.ts';
export type { Iam, IamOptions } from './module.ts';
export type { IamDeps } from './deps.ts';
export { createIdTokenIssuer } from './id-tokens.ts';
export { createSqlServiceAccountStore } from './service-accounts.ts';
export { createServiceAccess } from './access.ts';
export { createDeploymentAdminCheck } from './admin-check.ts';
export type { AccessCheck, AuditTarget, DenialAudit, ServiceAccess, ServiceAccessOptions } from './access.ts';
export { createDecisionCache, DECISION_TTL_MS, iamChangesOf, signalIamChange } from './decisions.ts';
export type { DecisionCache, DecisionCacheOptions, IamChanges } from './decisions.ts';
export { announceChange, CHANGE_CACHE_TTL_MS, changeCounterOf, createChangeCache } from './change-cache.ts';
export type { ChangeCache, ChangeCacheOptions, ChangeCounter } from './change-cache.ts';
