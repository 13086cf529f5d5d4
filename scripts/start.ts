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
let accounts: Readonly<Record<string, string>> = {};
if (existsSync(scenario)) {
  const module = (await import(pathToFileURL(scenario).href)) as {
    runScenario(url: string): Promise<unknown>;
    SCENARIO_ACCOUNTS: Readonly<Record<string, string>>;
  };
  await module.runScenario(server.url);
  accounts = module.SCENARIO_ACCOUNTS;
}
// One-time links (single use, ten minutes): the code rides in the fragment, which no request carries.
const links: string[] = [];
for (const [role, email] of Object.entries(accounts))
  links.push(`  ${role.padEnd(15)} ${email.padEnd(28)} ${await server.signInLink(email)}`);
process.stdout.write(
  `\nSealroom is serving at ${server.url} (dev mode; state in ${config.stateDir}).\n` +
    `The console: ${server.url}/console/\n` +
    (links.length > 0
      ? `Sign in to it as one of the scenario's parties (each link works once, within ten minutes):\n${links.join('\n')}\n`
      : '') +
    `Or from the command line: npx sealroom auth login you@example.com --api ${server.url}\n` +
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
