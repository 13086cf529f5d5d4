// `npm start`'s server: dev mode on the repository's state directory (or SEALROOM_STATE_DIR), on the
// default ports unless another program holds them, then free ones, said in one line each.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@sealroom/core';
import {
  describeSubstitution,
  type ListenerKey,
  type RunningServer,
  replaceTakenDefaults,
  resolveServerConfig,
  type ServerConfig,
  type ServerConfigInput,
  startServer,
} from '@sealroom/server';

export interface DevServerOptions {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** The server's logger, at the resolved log level (`warn` unless the user set one). */
  readonly logger: (level: ServerConfig['logLevel']) => Logger;
  readonly print: (line: string) => void;
  /** The ports tried first when neither the environment nor the state directory's config.json names one. */
  readonly defaults?: Partial<Pick<ServerConfig, 'port' | 'grpcPort'>>;
}

/** Starts the dev server; a port the user chose and another program holds fails with ERR_PORT_IN_USE. */
export async function startDevServer(options: DevServerOptions): Promise<RunningServer> {
  const { env } = options;
  // Flags outrank the environment, so only what the user did not set is given here.
  const stateDir = env.SEALROOM_STATE_DIR ?? join(options.root, '.sealroom');
  const inFile = configFileKeys(stateDir);
  const chosen: Record<ListenerKey, boolean> = {
    port: env.SEALROOM_PORT !== undefined || inFile.has('port'),
    grpcPort: env.SEALROOM_GRPC_PORT !== undefined || inFile.has('grpcPort'),
  };
  const flags: ServerConfigInput = { dev: true, stateDir };
  if (env.SEALROOM_LOG_LEVEL === undefined && !inFile.has('logLevel')) flags.logLevel = 'warn';
  if (!chosen.port && options.defaults?.port !== undefined) flags.port = options.defaults.port;
  if (!chosen.grpcPort && options.defaults?.grpcPort !== undefined) flags.grpcPort = options.defaults.grpcPort;
  const resolved = resolveServerConfig(flags, env);
  const { config, substitutions } = await replaceTakenDefaults(resolved, chosen);
  for (const s of substitutions) options.print(describeSubstitution(s));
  return startServer(config, { logger: options.logger(config.logLevel) });
}

function configFileKeys(stateDir: string): Set<string> {
  const file = join(stateDir, 'config.json');
  if (!existsSync(file)) return new Set();
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return new Set(value && typeof value === 'object' ? Object.keys(value) : []);
  } catch {
    return new Set(); // resolveServerConfig has already refused a file that is not JSON
  }
}
