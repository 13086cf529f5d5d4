// The Pub/Sub ServiceFactory: store, service, REST routes, gRPC bindings, retention sweeps, emulator port.
import { CoreError } from '@sealroom/core';
import { type GrpcServer, type ServiceContext, type ServiceModule, startGrpcServer } from '@sealroom/transport';
import { AccessControl } from './access.ts';
import { loadPubsubConfig, type PubsubConfig } from './config.ts';
import { pubsubGrpcBindings } from './grpc.ts';
import { pubsubPolicyRoutes, pubsubRoutes } from './http.ts';
import { PubsubService } from './service.ts';
import { SqlPubsubStore } from './sql-store.ts';
import { Wakeup } from './wakeup.ts';

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
    const store = new SqlPubsubStore(ctx.db);
    await store.init();
    const service = new PubsubService({
      store,
      access: new AccessControl(ctx.authorizer, ctx.audit, ctx.clock),
      clock: ctx.clock,
      logger,
      wakeup: new Wakeup(),
      pullWaitMs: settings.pullWaitMs,
    });
    const shutdown = new AbortController();
    let purgeTimer: NodeJS.Timeout | undefined;
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
        purgeTimer = setInterval(() => void purge(), settings.purgeIntervalMs);
        purgeTimer.unref();
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
        clearInterval(purgeTimer);
        await emulator?.close();
      },
    };
  };
}

export const createPubsubService = (ctx: ServiceContext): Promise<PubsubModule> => createPubsubServiceWith()(ctx);
