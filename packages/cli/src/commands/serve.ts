// `sealroom serve`: runs the control plane until SIGINT/SIGTERM.
import {
  CONFIG_FRAGMENTS,
  configFromFlags,
  createPinoLogger,
  resolveServerConfig,
  startServer,
} from '@sealroom/server';
import { STOP_GRACE_MS } from '@sealroom/launcher';
import { configTextKindOf, describeConfigKey } from '@sealroom/transport';
import type { CommandSpec, FlagSpec } from '../command.ts';

/** Beyond the instances' own SIGTERM → SIGKILL grace, time for runc to delete them and the server to close. */
const SHUTDOWN_MARGIN_MS = 5_000;

/** The compute module's count of running instances, when compute is served. */
function runningInstances(modules: readonly { name: string }[]): number {
  const compute = modules.find((m) => m.name === 'compute') as { instances?: { runningCount?(): number } } | undefined;
  return compute?.instances?.runningCount?.() ?? 0;
}

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
      const server = await startServer(config, { logger, releaseMemoryWhenIdle: true });
      ctx.out(
        `Sealroom is serving at ${server.url}${server.grpcPort ? ` (gRPC TLS on port ${server.grpcPort})` : ''}; state in ${config.stateDir}. Press Ctrl-C to stop.`,
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        // A signal may arrive twice (a Ctrl-C reaches every process of the terminal's group, and npm or a
        // wrapper passes it on too): the first stops the server, later ones wait for the grace period.
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          ctx.err(`${signal}: stopping Sealroom (its instances' workloads first, then the server)…`);
          logger.info({ signal }, 'shutting down');
          const instances = runningInstances(server.modules);
          const plural = instances === 1 ? 'instance' : 'instances';
          if (instances > 0)
            ctx.err(
              `stopping ${instances} ${plural}… (SIGTERM to each workload, SIGKILL after ${STOP_GRACE_MS / 1000} s)`,
            );
          // The instances get their whole grace period: the process never exits with a workload still up.
          const graceMs = Math.max(config.shutdownGraceMs, STOP_GRACE_MS + SHUTDOWN_MARGIN_MS);
          const timer = setTimeout(() => {
            logger.error({}, 'shutdown grace period elapsed; exiting');
            process.exit(1);
          }, graceMs);
          timer.unref();
          server.close().then(() => {
            if (instances > 0) ctx.err(`stopped ${instances} ${plural}`);
            resolve();
          }, resolve);
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGHUP', () => stop('SIGHUP'));
      });
      ctx.err('Sealroom stopped.');
      return undefined;
    },
  },
];
