// The instance the metadata server tests describe (test support only; never imported by the launcher itself).
import type { InstanceFacts } from './tree.ts';

export const TEST_FACTS: InstanceFacts = {
  id: '8123456789012345678',
  name: 'vm1',
  zone: 'us-central1-a',
  projectId: 'operator-project',
  projectNumber: '123456789012',
  universeDomain: 'googleapis.com',
  serviceAccount: {
    email: 'operator-svc-account@operator-project.iam.gserviceaccount.com',
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
  },
};
