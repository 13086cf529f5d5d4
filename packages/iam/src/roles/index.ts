// The role catalogue: predefined roles with their permissions, and the basic roles derived from them.
import type { RoleDefinition, RoleTable } from './catalog.types.ts';
import { CORE_ROLES } from './core.ts';
import { SERVICE_ROLES } from './services.ts';

export type { RoleDefinition, RoleTable } from './catalog.types.ts';

/**
 * Permissions that no basic role (owner, editor, viewer) grants: using key material and reading
 * secret payloads need an explicit grant, so that administering a project never implies reading the
 * data its collaborators locked (a deliberate difference from Google's basic roles).
 */
export const DATA_PLANE_PERMISSIONS: ReadonlySet<string> = new Set([
  'cloudkms.cryptoKeyVersions.useToEncrypt',
  'cloudkms.cryptoKeyVersions.useToDecrypt',
  'cloudkms.cryptoKeyVersions.useToSign',
  'cloudkms.cryptoKeyVersions.useToVerify',
  'secretmanager.versions.access',
  'iam.serviceAccounts.getAccessToken',
  'iam.serviceAccounts.getOpenIdToken',
  'iam.serviceAccounts.signBlob',
  'iam.serviceAccounts.signJwt',
  'iam.serviceAccounts.implicitDelegation',
  'confidentialcomputing.challenges.verify',
]);

const EXTRA_PERMISSIONS = [
  'resourcemanager.projects.get',
  'resourcemanager.projects.delete',
  'resourcemanager.projects.getIamPolicy',
  'resourcemanager.projects.setIamPolicy',
  'serviceusage.services.enable',
  'serviceusage.services.list',
  'serviceusage.services.get',
  'iam.serviceAccountKeys.create',
  'iam.serviceAccountKeys.list',
];

function buildCatalog(): Map<string, RoleDefinition> {
  const predefined: RoleTable = { ...CORE_ROLES, ...SERVICE_ROLES };
  const all = new Set<string>(EXTRA_PERMISSIONS);
  for (const role of Object.values(predefined)) for (const p of role.permissions) all.add(p);
  const usable = [...all].filter((p) => !DATA_PLANE_PERMISSIONS.has(p)).sort();
  const isRead = (p: string) => /\.(get|list|getIamPolicy|viewPublicKey)$/.test(p) || p.endsWith('.logs.list');
  const isIamWrite = (p: string) => p.endsWith('.setIamPolicy');
  const catalog = new Map<string, RoleDefinition>(Object.entries(predefined));
  catalog.set('roles/owner', { title: 'Owner', permissions: usable });
  catalog.set('roles/editor', { title: 'Editor', permissions: usable.filter((p) => !isIamWrite(p)) });
  catalog.set('roles/viewer', { title: 'Viewer', permissions: usable.filter(isRead) });
  return catalog;
}

const CATALOG = buildCatalog();
const PERMISSION_SETS = new Map<string, ReadonlySet<string>>(
  [...CATALOG].map(([name, role]) => [name, new Set(role.permissions)]),
);

export function isKnownRole(role: string): boolean {
  return CATALOG.has(role);
}

export function roleGrants(role: string, permission: string): boolean {
  return PERMISSION_SETS.get(role)?.has(permission) ?? false;
}

export function describeRole(role: string): RoleDefinition | undefined {
  return CATALOG.get(role);
}

export function listRoles(): readonly string[] {
  return [...CATALOG.keys()].sort();
}
