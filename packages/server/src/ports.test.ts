import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isSealroomError, silentLogger } from '@sealroom/core';
import { resolveServerConfig } from './config.ts';
import { assertPortsFree, describeSubstitution, portTaken, replaceTakenDefaults } from './ports.ts';
import { startServer } from './server.ts';

const held: Server[] = [];
after(() => {
  for (const server of held) server.close();
});

/** A loopback port another "program" holds for the rest of the file. */
async function holdPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

test('portTaken tells a held port from a free one; 0 and -1 are never taken', async () => {
  const port = await holdPort();
  assert.equal(await portTaken('127.0.0.1', port), true);
  assert.equal(await portTaken('127.0.0.1', 0), false);
  assert.equal(await portTaken('127.0.0.1', -1), false);
});

test('a held port fails in one line naming the flag and the environment variable', async () => {
  const port = await holdPort();
  await assert.rejects(assertPortsFree({ host: '127.0.0.1', port: 0, grpcPort: port }), (error) => {
    assert.ok(isSealroomError(error));
    assert.equal(error.code, 'ERR_PORT_IN_USE');
    assert.equal(error.message.includes('\n'), false);
    assert.match(error.message, new RegExp(`gRPC port 127\\.0\\.0\\.1:${port} is in use`));
    assert.match(error.message, /--grpc-port=PORT or SEALROOM_GRPC_PORT=PORT/);
    return true;
  });
  await assert.rejects(assertPortsFree({ host: '127.0.0.1', port, grpcPort: -1 }), /--port=PORT or SEALROOM_PORT=PORT/);
});

test('startServer on a held gRPC port refuses before opening any state', async () => {
  const port = await holdPort();
  const root = mkdtempSync(join(tmpdir(), 'sealroom-ports-'));
  try {
    const stateDir = join(root, 'state');
    const config = resolveServerConfig({ port: 0, grpcPort: port, stateDir, dev: true }, {});
    await assert.rejects(startServer(config, { logger: silentLogger }), { code: 'ERR_PORT_IN_USE' });
    assert.equal(existsSync(stateDir), false, 'nothing opened half-way');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('replaceTakenDefaults swaps only the held ports the user did not choose', async () => {
  const rest = await holdPort();
  const grpc = await holdPort();
  const config = { host: '127.0.0.1', port: rest, grpcPort: grpc };
  const both = await replaceTakenDefaults(config, { port: false, grpcPort: false });
  assert.deepEqual(
    both.substitutions.map((s) => [s.key, s.taken]),
    [
      ['port', rest],
      ['grpcPort', grpc],
    ],
  );
  assert.notEqual(both.config.port, rest);
  assert.notEqual(both.config.grpcPort, grpc);
  assert.equal(await portTaken('127.0.0.1', both.config.port), false);
  assert.match(
    describeSubstitution(both.substitutions[0] ?? assert.fail()),
    new RegExp(`Port ${rest} \\(REST\\) is taken.*using ${both.config.port} instead \\(set SEALROOM_PORT to choose\\)`),
  );
  const chosen = await replaceTakenDefaults(config, { port: true, grpcPort: false });
  assert.equal(chosen.config.port, rest, 'a chosen port is kept, so it fails with its variable named');
  assert.deepEqual(
    chosen.substitutions.map((s) => s.key),
    ['grpcPort'],
  );
});
