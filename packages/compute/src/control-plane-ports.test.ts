import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { controlPlaneLoopbackPorts } from './control-plane-ports.ts';

test('an instance is bridged to the gRPC endpoint its replica serves, not the one another replica wrote to endpoints.json', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-bridge-'));
  try {
    // Replicas share the state directory: the last one to start wrote its own gRPC port here.
    writeFileSync(
      join(stateDir, 'endpoints.json'),
      JSON.stringify({ rest: 'http://127.0.0.1:8080', grpc: '127.0.0.1:9083' }),
    );
    const base = 'http://127.0.0.1:8080';
    assert.deepEqual(controlPlaneLoopbackPorts(base, stateDir, { host: '127.0.0.1', port: 9081 }), [8080, 9081]);
    // A public endpoint on another machine is reached by routing, not through the loopback bridge.
    assert.deepEqual(controlPlaneLoopbackPorts(base, stateDir, { host: 'lb.example.com', port: 8443 }), [8080]);
    // Before the listeners are up (instances recovered at start), the file is all there is.
    assert.deepEqual(controlPlaneLoopbackPorts(base, stateDir), [8080, 9083]);
    assert.deepEqual(controlPlaneLoopbackPorts('https://sealroom.example.com', stateDir, undefined), [9083]);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
