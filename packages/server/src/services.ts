// The services `sealroom serve` composes, by the name `--only` selects them with.
import { createComputeModule } from '@sealroom/compute';
import { createFederationService } from '@sealroom/federation';
import { createKmsService } from '@sealroom/kms';
import { createPubsubServiceWith, toPubsubConfig } from '@sealroom/pubsub';
import { createRegistryService } from '@sealroom/registry';
import { createSecretsService } from '@sealroom/secrets';
import type { ServiceContext, ServiceModule } from '@sealroom/transport';
import { createVerifierModule } from '@sealroom/verifier';
import type { ServerConfig } from './config.ts';

export interface ServiceEntry {
  readonly name: string;
  /** Builds the service; a service with a configuration fragment reads its section of `config`. */
  readonly factory: (context: ServiceContext, config: ServerConfig) => Promise<ServiceModule>;
}

/** One line per service package; iam (projects, IAM, credentials, logging) is always on. */
export const SERVICES: readonly ServiceEntry[] = [
  { name: 'sts', factory: createFederationService },
  { name: 'verifier', factory: (ctx, config) => createVerifierModule(ctx, { config: config.verifier }) },
  { name: 'registry', factory: createRegistryService },
  { name: 'kms', factory: createKmsService },
  { name: 'secrets', factory: createSecretsService },
  { name: 'pubsub', factory: (ctx, config) => createPubsubServiceWith(toPubsubConfig(config.pubsub))(ctx) },
  {
    name: 'compute',
    factory: (ctx, config) => createComputeModule(ctx, { config: config.compute, platformEndpoints: true }),
  },
];
