// `sealroom serve` and the Pub/Sub emulator port: refused without --dev, started under its unsafe name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, SEALROOM_BIN } from '../support/server-process.ts';

/** Runs `sealroom serve ARGS` until it exits, or until it says it serves (then stops it); at most 60 s. */
function serve(args: readonly string[]): Promise<{ code: number | null; output: string; served: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-e2e-emu-'));
  const child = spawn(
    process.execPath,
    [SEALROOM_BIN, 'serve', '--grpc-port', '-1', '--only', 'pubsub', '--state-dir', join(dir, 'state'), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config') } },
  );
  let output = '';
  let served = false;
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!served && output.includes('Sealroom is serving')) {
      served = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, served });
    }),
  );
}

test('without --dev, sealroom serve refuses the emulator port with a clear error and starts nothing', async () => {
  const port = await freePort();
  const result = await serve(['--port', String(port), '--emulator-port', '0']);
  assert.equal(result.served, false, result.output);
  assert.equal(result.code, 1);
  assert.match(result.output, /emulator port .* runs only with --dev; .*--unsafe-emulator-port/);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('--unsafe-emulator-port starts it on a server without --dev, with a warning; --dev --emulator-port too', async () => {
  const unsafe = await serve(['--port', String(await freePort()), '--unsafe-emulator-port', '0']);
  assert.equal(unsafe.served, true, unsafe.output);
  assert.match(unsafe.output, /emulator port is ON/);
  const dev = await serve(['--port', String(await freePort()), '--dev', '--emulator-port', '0']);
  assert.equal(dev.served, true, dev.output);
  assert.match(dev.output, /emulator port is ON/);
});
