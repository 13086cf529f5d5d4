// The processes under test: a bare Node HTTP hello-world, and `sealroom serve --dev` on a fresh state directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRepoRoot } from '@sealroom/core';
import { perfFlags } from './perf.ts';
import { profileFlags } from './profile.ts';

export interface RunningProcess {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

export interface SealroomProcess extends RunningProcess {
  /** `host:port` of the gRPC TLS listener. */
  readonly grpcTarget: string;
  /** The deployment CA (PEM) the gRPC listener's certificate chains to. */
  readonly caPem: string;
  readonly stateDir: string;
  /** The server's output so far (its log file). */
  logs(): string;
}

/** The checkout's CLI, or another build of it (`SEALROOM_BENCH_BIN`, to compare two builds on one machine). */
const SEALROOM_BIN = process.env.SEALROOM_BENCH_BIN ?? join(resolveRepoRoot(), 'packages', 'cli', 'bin', 'sealroom.js');
const READY_TIMEOUT_MS = 60_000;

/** Children still running when the benchmark ends (even by an exception) are killed with it. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const HELLO = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** A bare `node:http` server answering every request with a small JSON body: the machine's ceiling for Node. */
export async function startHelloWorld(): Promise<RunningProcess> {
  const child = track(spawn(process.execPath, ['-e', HELLO], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`hello-world exited with ${code}`)));
  });
  return { pid: child.pid as number, url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

function parseEndpoints(text: string): { rest: string; grpc: string | null } | undefined {
  try {
    return JSON.parse(text) as { rest: string; grpc: string | null };
  } catch {
    return undefined;
  }
}

export interface StartSealroomOptions {
  /** Extra `node` flags for the server process (e.g. `--inspect=127.0.0.1:0`). */
  readonly nodeFlags?: readonly string[];
  /** Runs on the fresh state directory before the server starts (e.g. to create the platform CA it will trust). */
  readonly prepareState?: (stateDir: string) => void;
  readonly logLevel?: string;
  /** The CLI to run (default: this checkout's, or `SEALROOM_BENCH_BIN`). */
  readonly bin?: string;
  /** Environment variables added to the server's (e.g. `GLIBC_TUNABLES`, read when a process starts). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * `sealroom serve --dev --port 0 --grpc-port 0` as its own process on a temporary state directory, as users run
 * it; resolves once `/readyz` answers. The server's output goes to a file in that directory.
 */
export async function startSealroom(options: StartSealroomOptions = {}): Promise<SealroomProcess> {
  const root = mkdtempSync(join(tmpdir(), 'sealroom-bench-'));
  const stateDir = join(root, 'state');
  options.prepareState?.(stateDir);
  const logFile = join(root, 'server.log');
  const log = openSync(logFile, 'a');
  const child = track(
    spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        ...profileFlags(),
        ...perfFlags(),
        options.bin ?? SEALROOM_BIN,
        'serve',
        '--dev',
        '--port',
        '0',
        '--grpc-port',
        '0',
        '--state-dir',
        stateDir,
        '--log-level',
        options.logLevel ?? 'warn',
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, ...options.env, XDG_CONFIG_HOME: join(root, 'config') } },
    ),
  );
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const endpointsFile = join(stateDir, 'endpoints.json');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let endpoints: { rest: string; grpc: string | null } | undefined;
  while (endpoints === undefined) {
    if (child.exitCode !== null) throw new Error(`sealroom serve exited early (${child.exitCode}):\n${logs()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sealroom serve did not become ready:\n${logs()}`);
    }
    if (existsSync(endpointsFile)) {
      // The file may be half written when first seen: read it again on the next round.
      const written = parseEndpoints(readFileSync(endpointsFile, 'utf8'));
      if (written && (await fetch(`${written.rest}/readyz`).catch(() => undefined))?.ok) endpoints = written;
    }
    if (endpoints === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid as number,
    url: endpoints.rest,
    grpcTarget: endpoints.grpc ?? '',
    caPem: readFileSync(join(stateDir, 'tls', 'ca.pem'), 'utf8'),
    stateDir,
    logs,
    async stop() {
      await stopChild(child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
