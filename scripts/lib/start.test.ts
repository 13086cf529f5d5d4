// `npm start` (scripts/start.ts) as a new user runs it: a busy machine, SEALROOM_STATE_DIR, a second run on
// the same state, and Ctrl-C. `--no-scenario`: the scenario itself is tested in test/e2e/wordcount.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveRepoRoot, silentLogger } from '@sealroom/core';
import { startDevServer } from './start.ts';

const root = resolveRepoRoot();
const held: Server[] = [];
const dirs: string[] = [];
after(() => {
  for (const server of held) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-start-'));
  dirs.push(dir);
  return dir;
}

async function holdPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

interface StartProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the output matches `pattern`; rejects on exit or after 60 s. */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

function runStart(env: NodeJS.ProcessEnv, args: readonly string[] = ['--no-scenario']): StartProcess {
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of waiters) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(kill));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)), 60_000);
        const check = () => {
          if (!pattern.test(output)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        waiters.add(check);
        check();
        void exited.then(() => {
          clearTimeout(timer);
          if (!pattern.test(output)) reject(new Error(`exited before ${pattern}:\n${output}`));
        });
      }),
  };
}

test('default ports another program holds are replaced by free ones, each said in one line', async () => {
  const [rest, grpc] = [await holdPort(), await holdPort()];
  const stateDir = join(tempDir(), 'state');
  const lines: string[] = [];
  const server = await startDevServer({
    root,
    env: { SEALROOM_STATE_DIR: stateDir },
    print: (line) => lines.push(line),
    logger: () => silentLogger,
    defaults: { port: rest, grpcPort: grpc },
  });
  try {
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0] ?? '', new RegExp(`^Port ${rest} \\(REST\\) is taken .*set SEALROOM_PORT to choose`));
    assert.match(lines[1] ?? '', new RegExp(`^Port ${grpc} \\(gRPC\\) is taken .*set SEALROOM_GRPC_PORT to choose`));
    assert.notEqual(new URL(server.url).port, String(rest));
    assert.notEqual(server.grpcPort, grpc);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal(server.config.stateDir, stateDir, 'SEALROOM_STATE_DIR is honoured');
  } finally {
    await server.close();
  }
});

test('a port the user chose (SEALROOM_PORT) that is held fails in one line naming the variable', async () => {
  const rest = await holdPort();
  const stateDir = join(tempDir(), 'state');
  const run = runStart({ SEALROOM_STATE_DIR: stateDir, SEALROOM_PORT: String(rest), SEALROOM_GRPC_PORT: '0' });
  assert.equal(await run.exited, 1);
  const output = run.output().trim();
  assert.equal(output.split('\n').length, 1, output);
  assert.match(output, new RegExp(`^npm start: The REST port 127\\.0\\.0\\.1:${rest} is in use .*SEALROOM_PORT=PORT`));
  assert.equal(existsSync(stateDir), false, 'no state created');
});

test('npm start serves on SEALROOM_STATE_DIR, runs again on the same state, and Ctrl-C stops it saying so', async () => {
  const stateDir = join(tempDir(), 'state');
  const env = { SEALROOM_STATE_DIR: stateDir, SEALROOM_PORT: '0', SEALROOM_GRPC_PORT: '0' };
  for (const round of [1, 2]) {
    const run = runStart(env);
    await run.waitFor(/Press Ctrl-C to stop\./);
    assert.match(run.output(), new RegExp(`state in ${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    const endpoints = JSON.parse(readFileSync(join(stateDir, 'endpoints.json'), 'utf8')) as { rest: string };
    assert.equal((await fetch(`${endpoints.rest}/readyz`)).status, 200, `round ${round}`);
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /SIGINT: stopping Sealroom .*\n(.|\n)*Sealroom stopped\./);
    await assert.rejects(fetch(`${endpoints.rest}/healthz`), 'nothing listens after Ctrl-C');
  }
});
