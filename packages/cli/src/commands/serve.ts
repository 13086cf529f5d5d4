// `sealroom serve`: runs the control plane until SIGINT/SIGTERM.
import {
  CONFIG_FRAGMENTS,
  configFromFlags,
  createPinoLogger,
  resolveServerConfig,
  startServer,
} from '@sealroom/server';
import { configTextKindOf, describeConfigKey } from '@sealroom/transport';
import type { CommandSpec, FlagSpec } from '../command.ts';

/** One flag per configuration key that names one, its help the first sentence of the key's description. */
function serveFlags(): Record<string, FlagSpec> {
  const flags: Record<string, FlagSpec> = {};
  for (const fragment of CONFIG_FRAGMENTS) {
    for (const key of Object.values(fragment.keys)) {
      if (key.flag === undefined) continue;
      const sentence = /^.*?[.!?](?=\s|$)/s.exec(key.description)?.[0] ?? key.description;
      const { defaultText } = describeConfigKey(key);
      flags[key.flag] = {
        type: configTextKindOf(key) === 'boolean' ? 'boolean' : 'string',
        description: `${sentence.replace(/`/g, '')} (default ${defaultText.replace(/`/g, '')})`,
      };
    }
  }
  return flags;
}

export const serveCommands: CommandSpec[] = [
  {
    path: ['serve'],
    summary: 'Runs every control-plane service (or --only some) on embedded storage.',
    flags: {
      ...serveFlags(),
      config: { type: 'string', description: 'A JSON configuration file (default <state-dir>/config.json).' },
    },
    async run(ctx) {
      const config = resolveServerConfig(configFromFlags(ctx.flags), ctx.env, ctx.flags.config as string | undefined);
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
