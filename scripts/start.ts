// `npm start`: runs the control plane on embedded defaults (dev mode, state in ./.sealroom) until Ctrl-C.
// When the seed scenario is present (examples/wordcount/scenario.ts) it runs it against this server first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveRepoRoot } from '@sealroom/core';
import { createPinoLogger, resolveServerConfig, startServer } from '@sealroom/server';

const root = resolveRepoRoot();
const config = resolveServerConfig({ dev: true, stateDir: join(root, '.sealroom'), logLevel: 'warn' });
const server = await startServer(config, { logger: createPinoLogger(config.logLevel) });
const scenario = join(root, 'examples', 'wordcount', 'scenario.ts');
if (existsSync(scenario)) {
  const { runScenario } = (await import(pathToFileURL(scenario).href)) as { runScenario(url: string): Promise<void> };
  await runScenario(server.url);
}
process.stdout.write(
  `\nSealroom is serving at ${server.url} (dev mode; state in ${config.stateDir}).\n` +
    `Try: npx sealroom auth login you@example.com --api ${server.url}\n` +
    'Press Ctrl-C to stop.\n',
);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
