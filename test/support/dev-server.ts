// An in-process dev-mode server on free ports (REST and gRPC), silent, for end-to-end tests.
import { join } from 'node:path';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';

/** Starts `sealroom serve --dev` in process with state under `dir`/state; `config` adds to or overrides it. */
export function startDevTestServer(dir: string, config: Record<string, unknown>): Promise<RunningServer> {
  return startServer(
    ServerConfigSchema.parse({
      port: 0,
      grpcPort: 0,
      dev: true,
      stateDir: join(dir, 'state'),
      logLevel: 'silent',
      ...config,
    }),
    { logger: silentLogger },
  );
}
