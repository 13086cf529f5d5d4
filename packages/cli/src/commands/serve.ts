// `sealroom serve`: runs the control plane until SIGINT/SIGTERM.
import { createPinoLogger, type LogLevel, resolveServerConfig, startServer } from '@sealroom/server';
import type { CommandSpec } from '../command.ts';

export const serveCommands: CommandSpec[] = [
  {
    path: ['serve'],
    summary: 'Runs every control-plane service (or --only some) on embedded storage.',
    flags: {
      port: { type: 'string', description: 'REST port (default 8080; 0 picks a free one).' },
      host: { type: 'string', description: 'Address to listen on (default 127.0.0.1).' },
      'grpc-port': { type: 'string', description: 'gRPC TLS port (default 8443; -1 disables).' },
      'emulator-port': {
        type: 'string',
        description:
          'Plaintext Pub/Sub gRPC port for PUBSUB_EMULATOR_HOST clients (off by default; only with --dev: no caller identity, IAM not enforced).',
      },
      'unsafe-emulator-port': {
        type: 'string',
        description:
          'The same port on a server without --dev: anyone who reaches it reads and writes every topic and subscription.',
      },
      'state-dir': { type: 'string', description: 'State directory (default ./.sealroom, or SEALROOM_STATE_DIR).' },
      dev: {
        type: 'boolean',
        description: 'Dev mode: dev login and the soft platform CA trusted. Never for real data.',
      },
      only: { type: 'string', description: 'Comma-separated services to run (iam always runs).' },
      'base-url': { type: 'string', description: 'Public base URL (default http://HOST:PORT).' },
      'universe-domain': { type: 'string', description: 'Universe domain in identifiers (default googleapis.com).' },
      'log-level': { type: 'string', description: 'debug, info, warn, error or silent.' },
      config: { type: 'string', description: 'A JSON configuration file (default <state-dir>/config.json).' },
    },
    async run(ctx) {
      const int = (name: string) => (ctx.flags[name] === undefined ? undefined : Number(ctx.flags[name]));
      // The Pub/Sub service reads its own settings from SEALROOM_PUBSUB_*; the flags are shorthands for them.
      if (typeof ctx.flags['emulator-port'] === 'string')
        process.env.SEALROOM_PUBSUB_EMULATOR_PORT = ctx.flags['emulator-port'];
      if (typeof ctx.flags['unsafe-emulator-port'] === 'string')
        process.env.SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT = ctx.flags['unsafe-emulator-port'];
      const config = resolveServerConfig(
        {
          port: int('port'),
          host: ctx.flags.host as string | undefined,
          grpcPort: int('grpc-port'),
          stateDir: ctx.flags['state-dir'] as string | undefined,
          dev: ctx.flags.dev as boolean | undefined,
          only:
            typeof ctx.flags.only === 'string'
              ? ctx.flags.only
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
              : undefined,
          baseUrl: ctx.flags['base-url'] as string | undefined,
          universeDomain: ctx.flags['universe-domain'] as string | undefined,
          logLevel: ctx.flags['log-level'] as LogLevel | undefined,
        } as Parameters<typeof resolveServerConfig>[0],
        ctx.env,
        ctx.flags.config as string | undefined,
      );
      const logger = createPinoLogger(config.logLevel);
      const server = await startServer(config, { logger });
      ctx.out(
        `Sealroom is serving at ${server.url}${server.grpcPort ? ` (gRPC TLS on port ${server.grpcPort})` : ''}; state in ${config.stateDir}. Press Ctrl-C to stop.`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          const timer = setTimeout(() => {
            logger.error({}, 'shutdown grace period elapsed; exiting');
            process.exit(1);
          }, config.shutdownGraceMs);
          timer.unref();
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      return undefined;
    },
  },
];
