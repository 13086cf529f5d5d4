// The word-count workload: subscribe, count across the configured collaborators, seal state, publish sealed results.
import { Duration, type Message, PubSub } from '@google-cloud/pubsub';
import type { Logger, OutputPolicy } from '@sealroom/core';
import {
  buildExternalAccountCredentials,
  classifyFailure,
  createExternalAccountClient,
  googleClientOptions,
  impersonationUrlFor,
  outputPolicyOfClaims,
  pubsubClientOptions,
  readTokenClaims,
  requestCustomToken,
  tokenUrlFor,
} from '@sealroom/workload';
import { keysFor } from '../collaborator-keys.ts';
import { ATTR_COMMAND, PUBLISH_RESULTS_COMMAND } from '../contribution.ts';
import type { WordcountConfig } from '../config.ts';
import {
  type CollaboratorKeys,
  type ContributionProcessor,
  type ProcessorOptions,
  createContributionProcessor,
} from '../processor.ts';
import { createResultPublisher } from '../release.ts';
import { sealResult } from '../results.ts';
import { type StateStore, createSealedBlobStateStore, createSealedFileStateStore } from '../sealed-state.ts';
import { type Tally, type WordcountResult, createTally } from '../tally.ts';
import { type CollaboratorAccess, openCollaboratorAccess } from './collaborator-access.ts';
import { type Ingress, type IngressTenant, startIngress } from './ingress.ts';
import { WordcountError } from '../errors.ts';

/** State is sealed, and counted messages acked, per this many messages (or after 200 ms). */
const FLUSH_EVERY_MESSAGES = 1000;
/**
 * How long the client keeps extending the lease of a message held through an outage (its default is an
 * hour). Past it the message is redelivered, which spends one delivery attempt toward the dead-letter limit.
 */
const MAX_HOLD = Duration.from({ hours: 24 });
/** On stop, how long the last seal may wait for the state's key; what is not sealed by then is redelivered. */
const STOP_FLUSH_TIMEOUT_MS = 30_000;

export interface RunWorkloadOptions {
  readonly config: WordcountConfig;
  readonly logger: Logger;
  /** Defaults to the launcher's token file. */
  readonly tokenFile?: string;
  /** Defaults to the launcher's teeserver socket. */
  readonly socketPath?: string;
  /** Backoff of the retries through a collaborator's outage (tests shorten it). */
  readonly retry?: ProcessorOptions['retry'];
}

export interface RunningWorkload {
  /** The mTLS ingress port, when the configuration asks for one. */
  readonly ingressPort: number | undefined;
  readonly tally: Tally;
  readonly processor: ContributionProcessor;
  /** Seals the current result for every collaborator and writes it to its result secret. */
  publishResults(): Promise<void>;
  /** Stops receiving, seals state, acks, publishes final results. */
  stop(): Promise<void>;
  /** Simulates a crash: stops receiving without sealing or acking what is in flight. */
  kill(): Promise<void>;
}

export async function runWorkload(options: RunWorkloadOptions): Promise<RunningWorkload> {
  const { config, logger, tokenFile } = options;
  const access = new Map<string, CollaboratorAccess>(
    config.collaborators.map((c) => [c.name, openCollaboratorAccess(c, tokenFile)]),
  );
  await checkKeyRelease(access, logger);
  const keys = new Map<string, CollaboratorKeys>([...access.values()].map((a) => [a.name, keysFor(a.name, a.wrapper)]));
  const stateAccess = access.get(config.state.collaborator);
  // parseWordcountConfig guarantees it.
  if (!stateAccess) throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', 'the state collaborator is missing');
  const stateWrapper = stateAccess.wrapperFor(config.state.kmsKey);
  const { file, secret } = config.state;
  const sealedStore = secret
    ? createSealedBlobStateStore({
        wrapper: stateWrapper,
        blobs: {
          read: () =>
            stateAccess.accessSecret(secret).catch((error: Error) => {
              // No version yet: a first start.
              if (/ 404|NOT_FOUND/.test(error.message)) return undefined;
              throw error;
            }),
          write: (bytes) => stateAccess.addSecretVersion(secret, bytes),
        },
      })
    : createSealedFileStateStore({ file: file ?? '', wrapper: stateWrapper });
  // One writer at a time, in call order: the last seal is always of the latest snapshot.
  let sealing: Promise<void> = Promise.resolve();
  const store: StateStore = {
    load: () => sealedStore.load(),
    save: (snapshot) => (sealing = sealing.catch(() => {}).then(() => sealedStore.save(snapshot))),
  };
  const tally = createTally(await store.load());
  logger.info({ contributions: tally.snapshot().seen.length }, 'state restored');
  const { policy, source } = await outputPolicyOf(config, tokenFile);
  logger.info({ outputPolicy: policy, source }, 'output policy');

  let resultsDirty = false;
  let resultsTimer: NodeJS.Timeout | undefined;
  let publishing: Promise<void> = Promise.resolve();
  const publisher = createResultPublisher({
    tally,
    policy,
    policySource: source,
    logger,
    save: () => store.save(tally.snapshot()),
    recipients: config.collaborators.flatMap((collaborator) => {
      const a = access.get(collaborator.name);
      if (!a) return [];
      return [
        {
          name: a.name,
          appendRelease: (facts: Record<string, string | number | boolean>) => a.appendRelease(facts),
          deliver: async (result: WordcountResult) =>
            a.addSecretVersion(collaborator.resultSecret, await sealResult(result, a.name, a.wrapper)),
        },
      ];
    }),
  });
  const publishResults = (): Promise<void> => {
    publishing = publishing
      .then(async () => {
        resultsDirty = false;
        await publisher.publish();
      })
      .catch((error: unknown) => logger.error({ error }, 'releasing a result failed'));
    return publishing;
  };
  const processor = createContributionProcessor({
    collaborators: keys,
    tally,
    store,
    logger,
    flushEveryMessages: FLUSH_EVERY_MESSAGES,
    ...(options.retry ? { retry: options.retry } : {}),
    onFlushed: () => {
      resultsDirty = true;
      resultsTimer ??= setTimeout(() => {
        resultsTimer = undefined;
        if (resultsDirty) void publishResults();
      }, config.resultsIntervalMs);
    },
  });

  const pubsub = openOperatorPubsub(config, tokenFile);
  // Enough messages in flight to cover one seal-then-ack batch of the processor, and a second one filling.
  // Messages held through a collaborator's outage stay leased (up to MAX_HOLD) and count here, so a long
  // outage stops the intake instead of piling up deliveries.
  const subscription = pubsub.subscription(config.subscription, {
    flowControl: { maxMessages: 2 * FLUSH_EVERY_MESSAGES, allowExcessMessages: false },
    maxExtensionTime: MAX_HOLD,
  });
  subscription.on('message', (message: Message) => {
    if (message.attributes[ATTR_COMMAND] === PUBLISH_RESULTS_COMMAND) {
      // On demand: anyone who may publish can ask, harmlessly; results go only to the collaborators, sealed.
      message.ack();
      void processor.flush().then(publishResults);
      return;
    }
    void processor.handle({
      id: message.id,
      attributes: message.attributes,
      data: message.data,
      ack: () => message.ack(),
      nack: () => message.nack(),
    });
  });
  subscription.on('error', (error: unknown) => logger.error({ error }, 'subscription error'));
  logger.info({ subscription: config.subscription, collaborators: [...access.keys()] }, 'subscription ready');
  const ingress = await startConfiguredIngress(options, access, processor);

  return {
    ingressPort: ingress?.port,
    tally,
    processor,
    publishResults,
    async stop() {
      await ingress?.close();
      await subscription.close();
      await processor.flush(AbortSignal.timeout(STOP_FLUSH_TIMEOUT_MS));
      // Contributions still held through an outage end unanswered: the closed subscription gave them back.
      processor.abandon();
      if (resultsTimer) clearTimeout(resultsTimer);
      await publishResults();
      await pubsub.close();
      for (const a of access.values()) await a.close();
      logger.info({ ...processor.stats }, 'workload stopped');
    },
    async kill() {
      processor.abandon();
      if (resultsTimer) clearTimeout(resultsTimer);
      await ingress?.close();
      subscription.removeAllListeners('message');
      await subscription.close();
      await pubsub.close();
      for (const a of access.values()) await a.close();
    },
  };
}

/** Fetches each collaborator's TLS material from its own Secret Manager, as the workload's federated identity. */
async function startConfiguredIngress(
  options: RunWorkloadOptions,
  access: ReadonlyMap<string, CollaboratorAccess>,
  processor: ContributionProcessor,
): Promise<Ingress | undefined> {
  const { config, logger, socketPath } = options;
  if (config.ingressPort === undefined) return undefined;
  // Every collaborator's three secrets at once: each is a round trip to that collaborator's Secret Manager.
  const tenants: IngressTenant[] = await Promise.all(
    config.collaborators.flatMap((collaborator) => {
      const a = access.get(collaborator.name);
      const tls = collaborator.tls;
      if (!tls || !a) return [];
      const text = async (secret: string) => (await a.accessSecret(secret)).toString('utf8');
      return [
        (async (): Promise<IngressTenant> => {
          const [keyPem, certPem, clientCaPem] = await Promise.all([
            text(tls.serverKeySecret),
            text(tls.serverCertSecret),
            text(tls.clientCaSecret),
          ]);
          return { collaborator: collaborator.name, serverName: tls.serverName, keyPem, certPem, clientCaPem };
        })(),
      ];
    }),
  );
  return startIngress({
    tenants,
    processor,
    logger,
    port: config.ingressPort,
    requestToken: (audience, nonce) =>
      requestCustomToken({ audience, nonces: [nonce], ...(socketPath ? { socketPath } : {}) }),
  });
}

/**
 * Exchanges the token at every collaborator's STS once at start and logs the outcome, so the instance log
 * says at boot whether each collaborator's policy admits this workload (and why not). Not fatal: a
 * collaborator may fix its policy later, and the exchange is retried on use.
 */
async function checkKeyRelease(access: ReadonlyMap<string, CollaboratorAccess>, logger: Logger): Promise<void> {
  await Promise.all(
    [...access.values()].map(async (a) => {
      try {
        await a.authClient.getAccessToken();
        logger.info({ collaborator: a.name }, 'federated access granted');
      } catch (error) {
        logger.warn(
          {
            collaborator: a.name,
            failure: classifyFailure(error).reason,
            reason: error instanceof Error ? error.message : String(error),
          },
          'federated access refused',
        );
      }
    }),
  );
}

/**
 * The output policy the workload enforces: the one in its own token (the image's label, which every
 * collaborator's condition saw), never looser than the launch configuration's minCount; without one in
 * the token, the configuration's minCount alone.
 */
async function outputPolicyOf(
  config: WordcountConfig,
  tokenFile: string | undefined,
): Promise<{ policy: OutputPolicy; source: 'token' | 'config' }> {
  const claims = await readTokenClaims(tokenFile ? { tokenFile } : {});
  const fromToken = outputPolicyOfClaims(claims);
  if (fromToken) {
    return { policy: { ...fromToken, min_count: Math.max(fromToken.min_count, config.minCount) }, source: 'token' };
  }
  return { policy: { min_collaborators: 1, min_count: config.minCount }, source: 'config' };
}

/**
 * The operator's Pub/Sub: without a `pubsub` section, as the instance's attached service account (Application
 * Default Credentials from the metadata server) at the platform's endpoint; with one, through the operator's
 * workload identity pool at the endpoint it names.
 */
function openOperatorPubsub(config: WordcountConfig, tokenFile: string | undefined): PubSub {
  if (!config.pubsub) return new PubSub(googleClientOptions('pubsub'));
  const [grpcHost, grpcPort] = config.pubsub.grpc.split(':') as [string, string];
  const operatorAuth = createExternalAccountClient(
    buildExternalAccountCredentials({
      audience: config.pubsub.audience,
      tokenUrl: tokenUrlFor(config.pubsub.api),
      ...(config.pubsub.serviceAccount
        ? { impersonationUrl: impersonationUrlFor(config.pubsub.api, config.pubsub.serviceAccount) }
        : {}),
      ...(tokenFile ? { tokenFile } : {}),
    }),
  );
  return new PubSub(
    pubsubClientOptions({
      endpoint: {
        restUrl: config.pubsub.api,
        grpcHost,
        grpcPort: Number(grpcPort),
        ...(config.pubsub.caPem ? { caPem: config.pubsub.caPem } : {}),
        ...(config.pubsub.tlsServerName ? { tlsServerName: config.pubsub.tlsServerName } : {}),
      },
      authClient: operatorAuth,
      projectId: config.subscription.split('/')[1] ?? '',
    }) as never,
  );
}
