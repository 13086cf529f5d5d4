// Roles of the data services: KMS, Secret Manager, Pub/Sub, Artifact Registry, Confidential Computing, Compute.
import type { RoleTable } from './catalog.types.ts';

/** Every KMS role also carries these, as in Google Cloud's predefined roles. */
const KMS_BASE = ['cloudkms.locations.get', 'cloudkms.locations.list', 'resourcemanager.projects.get'];
const KMS_READ = [
  'cloudkms.keyRings.get',
  'cloudkms.keyRings.list',
  'cloudkms.cryptoKeys.get',
  'cloudkms.cryptoKeys.list',
  'cloudkms.cryptoKeyVersions.get',
  'cloudkms.cryptoKeyVersions.list',
];
const TOPIC_READ = ['pubsub.topics.get', 'pubsub.topics.list'];
const SUB_READ = ['pubsub.subscriptions.get', 'pubsub.subscriptions.list'];
const AR_READ = [
  'artifactregistry.repositories.get',
  'artifactregistry.repositories.list',
  'artifactregistry.repositories.downloadArtifacts',
  'artifactregistry.tags.get',
  'artifactregistry.tags.list',
  'artifactregistry.versions.get',
  'artifactregistry.versions.list',
];
const AR_WRITE = [
  ...AR_READ,
  'artifactregistry.repositories.uploadArtifacts',
  'artifactregistry.tags.create',
  'artifactregistry.tags.update',
];

export const SERVICE_ROLES: RoleTable = {
  'roles/cloudkms.admin': {
    title: 'Cloud KMS Admin',
    permissions: [
      ...KMS_BASE,
      ...KMS_READ,
      'cloudkms.keyRings.create',
      'cloudkms.keyRings.getIamPolicy',
      'cloudkms.keyRings.setIamPolicy',
      'cloudkms.cryptoKeys.create',
      'cloudkms.cryptoKeys.update',
      'cloudkms.cryptoKeys.getIamPolicy',
      'cloudkms.cryptoKeys.setIamPolicy',
      'cloudkms.cryptoKeyVersions.create',
      'cloudkms.cryptoKeyVersions.update',
      'cloudkms.cryptoKeyVersions.destroy',
      'cloudkms.cryptoKeyVersions.restore',
    ],
  },
  'roles/cloudkms.viewer': { title: 'Cloud KMS Viewer', permissions: [...KMS_BASE, ...KMS_READ] },
  'roles/cloudkms.cryptoKeyEncrypter': {
    title: 'Cloud KMS CryptoKey Encrypter',
    permissions: [...KMS_BASE, 'cloudkms.cryptoKeyVersions.useToEncrypt'],
  },
  'roles/cloudkms.cryptoKeyDecrypter': {
    title: 'Cloud KMS CryptoKey Decrypter',
    permissions: [...KMS_BASE, 'cloudkms.cryptoKeyVersions.useToDecrypt'],
  },
  'roles/cloudkms.cryptoKeyEncrypterDecrypter': {
    title: 'Cloud KMS CryptoKey Encrypter/Decrypter',
    permissions: [...KMS_BASE, 'cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt'],
  },
  'roles/cloudkms.signer': {
    title: 'Cloud KMS CryptoKey Signer',
    permissions: [...KMS_BASE, 'cloudkms.cryptoKeyVersions.useToSign'],
  },
  'roles/cloudkms.signerVerifier': {
    title: 'Cloud KMS CryptoKey Signer/Verifier',
    permissions: [
      ...KMS_BASE,
      'cloudkms.cryptoKeyVersions.useToSign',
      'cloudkms.cryptoKeyVersions.useToVerify',
      'cloudkms.cryptoKeyVersions.viewPublicKey',
    ],
  },
  'roles/cloudkms.publicKeyViewer': {
    title: 'Cloud KMS CryptoKey Public Key Viewer',
    permissions: [...KMS_BASE, 'cloudkms.cryptoKeyVersions.viewPublicKey'],
  },
  'roles/secretmanager.admin': {
    title: 'Secret Manager Admin',
    permissions: [
      'resourcemanager.projects.get',
      'secretmanager.secrets.create',
      'secretmanager.secrets.get',
      'secretmanager.secrets.list',
      'secretmanager.secrets.update',
      'secretmanager.secrets.delete',
      'secretmanager.secrets.getIamPolicy',
      'secretmanager.secrets.setIamPolicy',
      'secretmanager.versions.add',
      'secretmanager.versions.get',
      'secretmanager.versions.list',
      'secretmanager.versions.enable',
      'secretmanager.versions.disable',
      'secretmanager.versions.destroy',
      'secretmanager.versions.access',
    ],
  },
  'roles/secretmanager.secretAccessor': {
    title: 'Secret Manager Secret Accessor',
    permissions: ['secretmanager.versions.access'],
  },
  'roles/secretmanager.secretVersionAdder': {
    title: 'Secret Manager Secret Version Adder',
    permissions: ['secretmanager.versions.add'],
  },
  'roles/secretmanager.viewer': {
    title: 'Secret Manager Viewer',
    permissions: [
      'secretmanager.secrets.get',
      'secretmanager.secrets.list',
      'secretmanager.versions.get',
      'secretmanager.versions.list',
    ],
  },
  'roles/pubsub.publisher': { title: 'Pub/Sub Publisher', permissions: ['pubsub.topics.publish'] },
  'roles/pubsub.subscriber': {
    title: 'Pub/Sub Subscriber',
    permissions: ['pubsub.subscriptions.consume', 'pubsub.topics.attachSubscription', 'pubsub.snapshots.seek'],
  },
  'roles/pubsub.viewer': {
    title: 'Pub/Sub Viewer',
    permissions: [...TOPIC_READ, ...SUB_READ, 'resourcemanager.projects.get'],
  },
  'roles/pubsub.editor': {
    title: 'Pub/Sub Editor',
    permissions: [
      ...TOPIC_READ,
      ...SUB_READ,
      'pubsub.topics.create',
      'pubsub.topics.update',
      'pubsub.topics.delete',
      'pubsub.topics.publish',
      'pubsub.topics.attachSubscription',
      'pubsub.subscriptions.create',
      'pubsub.subscriptions.update',
      'pubsub.subscriptions.delete',
      'pubsub.subscriptions.consume',
      'pubsub.snapshots.seek',
      'resourcemanager.projects.get',
    ],
  },
  'roles/pubsub.admin': {
    title: 'Pub/Sub Admin',
    permissions: [
      ...TOPIC_READ,
      ...SUB_READ,
      'pubsub.topics.create',
      'pubsub.topics.update',
      'pubsub.topics.delete',
      'pubsub.topics.publish',
      'pubsub.topics.attachSubscription',
      'pubsub.topics.getIamPolicy',
      'pubsub.topics.setIamPolicy',
      'pubsub.subscriptions.create',
      'pubsub.subscriptions.update',
      'pubsub.subscriptions.delete',
      'pubsub.subscriptions.consume',
      'pubsub.subscriptions.getIamPolicy',
      'pubsub.subscriptions.setIamPolicy',
      'pubsub.snapshots.seek',
      'resourcemanager.projects.get',
    ],
  },
  'roles/artifactregistry.reader': { title: 'Artifact Registry Reader', permissions: AR_READ },
  'roles/artifactregistry.writer': { title: 'Artifact Registry Writer', permissions: AR_WRITE },
  'roles/artifactregistry.repoAdmin': {
    title: 'Artifact Registry Repository Administrator',
    permissions: [
      ...AR_WRITE,
      'artifactregistry.repositories.deleteArtifacts',
      'artifactregistry.tags.delete',
      'artifactregistry.versions.delete',
    ],
  },
  'roles/artifactregistry.admin': {
    title: 'Artifact Registry Administrator',
    permissions: [
      ...AR_WRITE,
      'artifactregistry.repositories.create',
      'artifactregistry.repositories.update',
      'artifactregistry.repositories.delete',
      'artifactregistry.repositories.deleteArtifacts',
      'artifactregistry.repositories.getIamPolicy',
      'artifactregistry.repositories.setIamPolicy',
      'artifactregistry.tags.delete',
      'artifactregistry.versions.delete',
    ],
  },
  'roles/confidentialcomputing.workloadUser': {
    title: 'Confidential Computing Workload User',
    permissions: [
      'confidentialcomputing.challenges.create',
      'confidentialcomputing.challenges.verify',
      'confidentialcomputing.locations.get',
      'confidentialcomputing.locations.list',
      'logging.logEntries.create',
    ],
  },
  'roles/compute.instanceAdmin.v1': {
    title: 'Compute Instance Admin (v1)',
    permissions: [
      'compute.instances.create',
      'compute.instances.get',
      'compute.instances.list',
      'compute.instances.delete',
      'compute.instances.start',
      'compute.instances.stop',
      'compute.instances.reset',
      'compute.instances.setMetadata',
      'compute.instances.getSerialPortOutput',
      'compute.instances.osAdminLogin',
      'compute.projects.get',
      'compute.zones.get',
      'resourcemanager.projects.get',
    ],
  },
  'roles/compute.securityAdmin': {
    title: 'Compute Security Admin',
    permissions: [
      'compute.firewalls.create',
      'compute.firewalls.delete',
      'compute.firewalls.get',
      'compute.firewalls.list',
      'compute.projects.get',
      'resourcemanager.projects.get',
    ],
  },
  'roles/compute.viewer': {
    title: 'Compute Viewer',
    permissions: [
      'compute.firewalls.get',
      'compute.firewalls.list',
      'compute.instances.get',
      'compute.instances.list',
      'compute.projects.get',
      'compute.zones.get',
      'resourcemanager.projects.get',
    ],
  },
  // Sealroom's own: the transparency log's receipts, and workloads that log what they release.
  'roles/transparency.receiptViewer': {
    title: 'Transparency Receipt Viewer',
    permissions: ['transparency.receipts.list', 'transparency.receipts.get', 'resourcemanager.projects.get'],
  },
  'roles/transparency.releaseWriter': {
    title: 'Transparency Release Writer',
    permissions: ['transparency.entries.create'],
  },
};
