import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import type { ServiceFactory } from '@sealroom/transport';
import { resolveServerConfig } from './config.ts';
import { startServer } from './server.ts';

test('the outbound allow-lists come from the file and SEALROOM_OUTBOUND_* variables, and a bad entry names its key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-outbound-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ outboundHttpHosts: ['verifier.corp:8080'] }));
    const fromFile = resolveServerConfig({ stateDir: dir }, {}, file);
    assert.deepEqual(fromFile.outboundHttpHosts, ['verifier.corp:8080']);
    assert.deepEqual(fromFile.outboundAllowedRanges, []);
    const fromEnv = resolveServerConfig(
      { stateDir: dir },
      { SEALROOM_OUTBOUND_ALLOWED_RANGES: '10.20.0.0/16, 127.0.0.1', SEALROOM_OUTBOUND_HTTP_HOSTS: 'a.corp,b.corp' },
      file,
    );
    assert.deepEqual(fromEnv.outboundAllowedRanges, ['10.20.0.0/16', '127.0.0.1']);
    assert.deepEqual(fromEnv.outboundHttpHosts, ['a.corp', 'b.corp']);
    assert.throws(
      () => resolveServerConfig({ stateDir: dir }, { SEALROOM_OUTBOUND_ALLOWED_RANGES: '10.0.0.0/33' }, file),
      /outboundAllowedRanges.*10\.0\.0\.0\/33/,
    );
    assert.throws(
      () => resolveServerConfig({ stateDir: dir }, { SEALROOM_OUTBOUND_HTTP_HOSTS: 'a.corp/path' }, file),
      /outboundHttpHosts.*a\.corp\/path/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every service receives the one outbound client, under the configured policy; dev mode adds loopback', async () => {
  for (const dev of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-outbound-'));
    try {
      const seen: OutboundClient[] = [];
      const capture: ServiceFactory = async (ctx) => {
        seen.push(ctx.outbound);
        return { name: 'kms', routes: [] };
      };
      const config = resolveServerConfig(
        { port: 0, grpcPort: -1, stateDir: dir, dev, outboundHttpHosts: ['verifier.corp'] },
        {},
      );
      const server = await startServer(config, {
        logger: createMemoryLogger(),
        services: [
          { name: 'kms', factory: capture },
          { name: 'sts', factory: capture },
        ],
      });
      await server.close();
      assert.equal(seen.length, 2);
      assert.equal(seen[0], seen[1]);
      assert.equal(seen[0]?.policy.allowLoopback, dev);
      assert.deepEqual([...(seen[0]?.policy.httpHosts ?? [])], ['verifier.corp']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
