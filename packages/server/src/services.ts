// The services `sealroom serve` composes, by the name `--only` selects them with.
import { createComputeService } from '@sealroom/compute';
import { createFederationService } from '@sealroom/federation';
import { createKmsService } from '@sealroom/kms';
import { createPubsubService } from '@sealroom/pubsub';
import { createRegistryService } from '@sealroom/registry';
import { createSecretsService } from '@sealroom/secrets';
import type { ServiceFactory } from '@sealroom/transport';
import { createVerifierService } from '@sealroom/verifier';

export interface ServiceEntry {
  readonly name: string;
  readonly factory: ServiceFactory;
}

/** One line per service package; iam (projects, IAM, credentials, logging) is always on. */
export const SERVICES: readonly ServiceEntry[] = [
  { name: 'sts', factory: createFederationService },
  { name: 'verifier', factory: createVerifierService },
  { name: 'registry', factory: createRegistryService },
  { name: 'kms', factory: createKmsService },
  { name: 'secrets', factory: createSecretsService },
  { name: 'pubsub', factory: createPubsubService },
  { name: 'compute', factory: createComputeService },
];
