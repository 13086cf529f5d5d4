// Starts `sealroom serve` as a real child process on a free loopback port, for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly stateDir: string;
  readonly configDir: string;
  readonly logs: () => string;
  /** Runs `sealroom ARGS` against this server as its own process; resolves with exit code and output. */
  cli(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  cleanup(): void;
}

export const SEALROOM_BIN = join(resolveRepoRoot(), 'packages', 'cli', 'bin', 'sealroom.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startServerProcess(
  options: {
    extraArgs?: readonly string[];
    stateDir?: string;
    /** `--dev` (the default); false runs the server as a production deployment would. */
    dev?: boolean;
    /** Extra environment of the server process (e.g. SEALROOM_OUTBOUND_*). */
    env?: NodeJS.ProcessEnv;
    /** How long the server may take to become ready (default 30 s). */
    readyTimeoutMs?: number;
  } = {},
): Promise<ServerProcess> {
  const root = mkdtempSync(join(tmpdir(), 'sealroom-e2e-'));
  const stateDir = options.stateDir ?? join(root, 'state');
  const configDir = join(root, 'config');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      SEALROOM_BIN,
      'serve',
      ...(options.dev === false ? [] : ['--dev']),
      '--port',
      String(port),
      '--grpc-port',
      '0',
      '--state-dir',
      stateDir,
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env, XDG_CONFIG_HOME: configDir } },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sealroom serve exited early (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sealroom serve did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    stateDir,
    configDir,
    logs: () => output,
    cli(args, env = {}) {
      return new Promise((resolve) => {
        const run = spawn(process.execPath, [SEALROOM_BIN, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, XDG_CONFIG_HOME: configDir, SEALROOM_API: url, ...env },
        });
        let stdout = '';
        let stderr = '';
        run.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        run.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
