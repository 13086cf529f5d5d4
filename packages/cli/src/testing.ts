// A test bed for CLI command tests: an in-process server in dev mode, a private config dir, and the CLI run in-process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@sealroom/core';
import { type RunningServer, ServerConfigSchema, startServer } from '@sealroom/server';
import { runCli } from './main.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliTestBed {
  readonly server: RunningServer;
  readonly dir: string;
  /** The environment every command runs with (its own XDG_CONFIG_HOME and XDG_CACHE_HOME, SEALROOM_API = the server). */
  readonly env: NodeJS.ProcessEnv;
  cli(...argv: string[]): Promise<CliResult>;
  /** Runs a command that must succeed; returns its stdout. */
  ok(...argv: string[]): Promise<string>;
  close(): Promise<void>;
}

export interface CliTestBedOptions {
  /** Names the temporary folder. */
  readonly name: string;
  /** Services besides iam (all by default). */
  readonly only?: readonly string[];
  /** More server settings (e.g. `compute`), merged over the dev defaults. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export async function startCliTestBed(options: CliTestBedOptions): Promise<CliTestBed> {
  const dir = mkdtempSync(join(tmpdir(), `sealroom-cli-${options.name}-`));
  const server = await startServer(
    ServerConfigSchema.parse({
      port: 0,
      grpcPort: -1,
      dev: true,
      stateDir: join(dir, 'state'),
      logLevel: 'silent',
      ...(options.only ? { only: [...options.only] } : {}),
      ...options.config,
    }),
    { logger: silentLogger },
  );
  const env: NodeJS.ProcessEnv = {
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    SEALROOM_API: server.url,
  };
  const cli = async (...argv: string[]): Promise<CliResult> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      env,
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
    });
    return { code, stdout, stderr };
  };
  return {
    server,
    dir,
    env,
    cli,
    async ok(...argv) {
      const result = await cli(...argv);
      assert.equal(result.code, 0, `sealroom ${argv.join(' ')}\n${result.stderr}`);
      return result.stdout;
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
