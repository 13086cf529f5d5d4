// The Pub/Sub ServiceFactory: store, service, REST routes, gRPC bindings, retention sweeps, emulator port.
import { CoreError, type ProjectRef, scheduleLeased } from '@sealroom/core';
import { createServiceAccess } from '@sealroom/iam';
import { type GrpcServer, type ServiceContext, type ServiceModule, startGrpcServer } from '@sealroom/transport';
import { createAccessControl } from './access.ts';
import { loadPubsubConfig, type PubsubConfig } from './config.ts';
import { pubsubGrpcBindings } from './grpc.ts';
import { pubsubPolicyRoutes, pubsubRoutes } from './http.ts';
import { createPubsub } from './service.ts';
import { createNatsWakeup } from './nats-wakeup.ts';
import type { PubsubStore } from './store.ts';
import { openNatsPubsubStore } from './store-nats.ts';
import { openSqlPubsubStore } from './store-sqlite.ts';
import { createSharedWakeup, type Wakeup } from './wakeup.ts';

/** The module, plus the emulator port once started (undefined while off). */
export interface PubsubModule extends ServiceModule {
  readonly emulatorPort: number | undefined;
}

/** Builds the service; `config` overrides the SEALROOM_PUBSUB_* environment (tests). */
export function createPubsubServiceWith(config?: PubsubConfig): (ctx: ServiceContext) => Promise<PubsubModule> {
  return async (ctx) => {
    const settings = config ?? loadPubsubConfig(process.env);
    // The emulator port has no caller identity, so IAM cannot apply there: a server refuses to start with it
    // unless it is a dev server, or the operator named it by its unsafe name.
    if (settings.emulatorPort !== undefined && !ctx.settings.dev && !settings.emulatorUnsafe) {
      throw new CoreError(
        'ERR_CONFIG',
        'The Pub/Sub emulator port (plaintext, no caller identity, IAM not enforced) runs only with --dev; to run it on this server anyway, use --unsafe-emulator-port (SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT).',
      );
    }
    const logger = ctx.logger.child({ service: 'pubsub' });
    const backend = await openBackend(ctx, settings);
    const store = backend.store;
    const service = createPubsub({
      store,
      access: createAccessControl(
        // The deployment's authorizer reuses allowed decisions until IAM changes (its decision cache).
        createServiceAccess({ authorizer: ctx.authorizer, audit: ctx.audit, clock: ctx.clock }),
      ),
      clock: ctx.clock,
      logger,
      wakeup: backend.wakeup,
      pullWaitMs: settings.pullWaitMs,
    });
    const shutdown = new AbortController();
    let stopPurge: (() => Promise<void>) | undefined;
    let emulator: GrpcServer | undefined;
    const purge = async () => {
      try {
        const purged = await store.purgeExpired(ctx.clock.now());
        if (purged > 0) logger.info({ purged }, 'messages past retention dropped');
      } catch (error) {
        logger.error({ error }, 'retention sweep failed');
      }
    };
    return {
      name: 'pubsub',
      get emulatorPort() {
        return emulator?.port;
      },
      routes: [...pubsubRoutes(service), ...pubsubPolicyRoutes(store, ctx)],
      grpc: pubsubGrpcBindings(service, { shutdown: shutdown.signal }),
      start: async () => {
        stopPurge = scheduleLeased({
          leases: ctx.leases,
          name: 'pubsub-retention-sweep',
          intervalMs: settings.purgeIntervalMs,
          work: purge,
          onError: (error) => logger.error({ error }, 'retention sweep failed'),
        });
        if (settings.emulatorPort !== undefined) {
          emulator = await startGrpcServer({
            bindings: pubsubGrpcBindings(service, { trusted: true, shutdown: shutdown.signal }),
            authenticator: ctx.authenticator,
            logger,
            host: settings.emulatorHost,
            port: settings.emulatorPort,
          });
          logger.warn(
            { host: settings.emulatorHost, port: emulator.port, unsafe: settings.emulatorUnsafe === true },
            'Pub/Sub emulator port is ON: plaintext gRPC without identities, IAM is NOT enforced there; anyone who reaches it can read and write every topic and subscription',
          );
        }
      },
      stop: async () => {
        shutdown.abort();
        await stopPurge?.();
        await emulator?.close();
        await backend.close();
      },
      gauges: async (projects) => [
        {
          name: 'sealroom_pubsub_backlog_messages',
          help: 'Messages of a subscription not yet acknowledged (its backlog).',
          labelNames: ['subscription'],
          samples: await backlogSamples(store, projects),
        },
      ],
    };
  };
}

interface Backend {
  readonly store: PubsubStore;
  readonly wakeup: Wakeup;
  close(): Promise<void>;
}

/** The SQL store in the server's database, or JetStream for messages with the records kept in the database. */
async function openBackend(ctx: ServiceContext, settings: PubsubConfig): Promise<Backend> {
  if (settings.natsUrl === undefined) {
    return {
      store: await openSqlPubsubStore(ctx.db),
      wakeup: createSharedWakeup(ctx.db.notifications),
      close: async () => {},
    };
  }
  const store = await openNatsPubsubStore({ url: settings.natsUrl, db: ctx.db });
  const wakeup = createNatsWakeup(store.connection, store.wakeSubject);
  ctx.logger.info({ service: 'pubsub', backend: 'nats' }, 'Pub/Sub messages are kept in NATS JetStream');
  return {
    store,
    wakeup,
    close: async () => {
      wakeup.close();
      await store.close();
    },
  };
}

export const createPubsubService = (ctx: ServiceContext): Promise<PubsubModule> => createPubsubServiceWith()(ctx);

/** Every subscription of the projects, with its backlog; a page at a time, so a large deployment stays bounded. */
async function backlogSamples(
  store: PubsubStore,
  projects: readonly ProjectRef[],
): Promise<{ labels: { subscription: string }; value: number }[]> {
  const samples: { labels: { subscription: string }; value: number }[] = [];
  for (const project of projects) {
    let pageToken = '';
    do {
      const page = await store.listSubscriptions(project.projectId, BACKLOG_PAGE_SIZE, pageToken);
      for (const subscription of page.items)
        samples.push({
          labels: { subscription: subscription.name },
          value: await store.countBacklog(subscription.name),
        });
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }
  return samples;
}

const BACKLOG_PAGE_SIZE = 1000;
