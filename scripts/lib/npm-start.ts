// `npm start`'s program (scripts/start.ts runs it, bundled or from source): the control plane in dev mode (state in
// ./.sealroom, or SEALROOM_STATE_DIR) until Ctrl-C, after the seed scenario when it is given, unless
// `npm start -- --no-scenario`. Ctrl-C (SIGINT) or SIGTERM stops the server and its instances' workloads.
import { isSealroomError, resolveRepoRoot } from '@sealroom/core';
import { createPinoLogger, type RunningServer } from '@sealroom/server';
import { startDevServer } from './start.ts';

export interface NpmStartOptions {
  /** URL of the scenario module (examples/wordcount/scenario.ts or its bundle); absent: serve only. */
  readonly scenario?: string;
}

interface ScenarioModule {
  runScenario(
    url: string,
    options: { grpc?: { host: string; port: number; caPem: string }; stateDir?: string },
  ): Promise<unknown>;
  SCENARIO_ACCOUNTS: Readonly<Record<string, string>>;
}

export async function runNpmStart(options: NpmStartOptions): Promise<void> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let server: RunningServer | undefined;
  let stopping = 0;
  // A Ctrl-C reaches this process twice (from the terminal, and from npm, which passes it on): a second
  // signal within a second is the same one; a later one exits without waiting.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping > 0) {
      if (Date.now() - stopping < 1000) return;
      print(`${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    stopping = Date.now();
    if (!server) process.exit(130);
    print(`\n${signal}: stopping Sealroom (its instances' workloads first, then the server)…`);
    server.close().then(
      () => {
        print('Sealroom stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        print(`Sealroom did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  try {
    server = await startDevServer({
      root: resolveRepoRoot(),
      env: process.env,
      print,
      logger: createPinoLogger,
    });
  } catch (error) {
    // One line (a taken port names the variable that changes it), not a stack trace.
    process.stderr.write(`npm start: ${isSealroomError(error) ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const config = server.config;
  const scenario = process.argv.includes('--no-scenario') ? undefined : options.scenario;
  const runScenario = scenario !== undefined;
  if (runScenario)
    print(
      `Sealroom is serving at ${server.url}${server.grpcPort ? ` (gRPC TLS on port ${server.grpcPort})` : ''} (dev mode; state in ${config.stateDir}).`,
    );
  let accounts: Readonly<Record<string, string>> = {};
  if (scenario !== undefined) {
    const module = (await import(scenario)) as ScenarioModule;
    await module.runScenario(server.url, {
      stateDir: config.stateDir,
      ...(server.grpcPort ? { grpc: { host: config.host, port: server.grpcPort, caPem: server.tls.caPem } } : {}),
    });
    accounts = module.SCENARIO_ACCOUNTS;
  }
  if (stopping === 0) {
    // One-time links (single use, ten minutes): the code rides in the fragment, which no request carries.
    const links: string[] = [];
    for (const [role, email] of Object.entries(accounts))
      links.push(`  ${role.padEnd(15)} ${email.padEnd(28)} ${await server.signInLink(email)}`);
    print(
      `\nSealroom is serving at ${server.url} (dev mode; state in ${config.stateDir}).\n` +
        `The console: ${server.url}/console/\n` +
        (links.length > 0
          ? `Sign in to it as one of the scenario's parties (each link works once, within ten minutes):\n${links.join('\n')}\n`
          : '') +
        `Or from the command line: npx sealroom auth login you@example.com --api ${server.url}\n` +
        'Press Ctrl-C to stop.',
    );
  }
}
