// Roles of the resource manager, IAM, service accounts, workload identity and logging.
import type { RoleTable } from './catalog.types.ts';

const SA_READ = ['iam.serviceAccounts.get', 'iam.serviceAccounts.list'];
const POOL_READ = [
  'iam.workloadIdentityPools.get',
  'iam.workloadIdentityPools.list',
  'iam.workloadIdentityPoolProviders.get',
  'iam.workloadIdentityPoolProviders.list',
];

export const CORE_ROLES: RoleTable = {
  'roles/resourcemanager.projectIamAdmin': {
    title: 'Project IAM Admin',
    permissions: [
      'resourcemanager.projects.get',
      'resourcemanager.projects.getIamPolicy',
      'resourcemanager.projects.setIamPolicy',
    ],
  },
  'roles/serviceusage.serviceUsageAdmin': {
    title: 'Service Usage Admin',
    permissions: [
      'serviceusage.services.enable',
      'serviceusage.services.disable',
      'serviceusage.services.list',
      'serviceusage.services.get',
    ],
  },
  'roles/iam.serviceAccountAdmin': {
    title: 'Service Account Admin',
    permissions: [
      ...SA_READ,
      'iam.serviceAccounts.create',
      'iam.serviceAccounts.update',
      'iam.serviceAccounts.delete',
      'iam.serviceAccounts.disable',
      'iam.serviceAccounts.enable',
      'iam.serviceAccounts.undelete',
      'iam.serviceAccounts.getIamPolicy',
      'iam.serviceAccounts.setIamPolicy',
      'resourcemanager.projects.get',
    ],
  },
  'roles/iam.serviceAccountKeyAdmin': {
    title: 'Service Account Key Admin',
    permissions: [
      ...SA_READ,
      'iam.serviceAccountKeys.create',
      'iam.serviceAccountKeys.delete',
      'iam.serviceAccountKeys.disable',
      'iam.serviceAccountKeys.enable',
      'iam.serviceAccountKeys.get',
      'iam.serviceAccountKeys.list',
    ],
  },
  'roles/iam.serviceAccountUser': {
    title: 'Service Account User',
    permissions: [...SA_READ, 'iam.serviceAccounts.actAs', 'resourcemanager.projects.get'],
  },
  'roles/iam.serviceAccountTokenCreator': {
    title: 'Service Account Token Creator',
    permissions: [
      ...SA_READ,
      'iam.serviceAccounts.getAccessToken',
      'iam.serviceAccounts.getOpenIdToken',
      'iam.serviceAccounts.signBlob',
      'iam.serviceAccounts.signJwt',
      'iam.serviceAccounts.implicitDelegation',
    ],
  },
  'roles/iam.workloadIdentityUser': {
    title: 'Workload Identity User',
    permissions: [...SA_READ, 'iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.getOpenIdToken'],
  },
  'roles/iam.workloadIdentityPoolAdmin': {
    title: 'IAM Workload Identity Pool Admin',
    permissions: [
      ...POOL_READ,
      'iam.workloadIdentityPools.create',
      'iam.workloadIdentityPools.update',
      'iam.workloadIdentityPools.delete',
      'iam.workloadIdentityPools.undelete',
      'iam.workloadIdentityPoolProviders.create',
      'iam.workloadIdentityPoolProviders.update',
      'iam.workloadIdentityPoolProviders.delete',
      'iam.workloadIdentityPoolProviders.undelete',
      'resourcemanager.projects.get',
    ],
  },
  'roles/iam.workloadIdentityPoolViewer': { title: 'IAM Workload Identity Pool Viewer', permissions: POOL_READ },
  'roles/iam.securityReviewer': {
    title: 'Security Reviewer',
    permissions: [
      'resourcemanager.projects.getIamPolicy',
      'iam.serviceAccounts.getIamPolicy',
      'cloudkms.keyRings.getIamPolicy',
      'cloudkms.cryptoKeys.getIamPolicy',
      'pubsub.topics.getIamPolicy',
      'pubsub.subscriptions.getIamPolicy',
      'secretmanager.secrets.getIamPolicy',
      'artifactregistry.repositories.getIamPolicy',
    ],
  },
  'roles/logging.logWriter': { title: 'Logs Writer', permissions: ['logging.logEntries.create'] },
  'roles/logging.viewer': { title: 'Logs Viewer', permissions: ['logging.logEntries.list', 'logging.logs.list'] },
  'roles/logging.privateLogViewer': {
    title: 'Private Logs Viewer',
    permissions: ['logging.logEntries.list', 'logging.logs.list', 'logging.privateLogEntries.list'],
  },
};
