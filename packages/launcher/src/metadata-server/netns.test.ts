// The isolated mode over a real network namespace: the server on the gateway address answers the instance's address
// (a process inside the namespace) and refuses a process outside it. Needs root and `ip` (iproute2).
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@sealroom/core';
import { type MetadataServer, startMetadataServer } from './server.ts';
import { TEST_FACTS } from './test-facts.ts';

const root = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;
const tag = `${process.pid % 10_000}${randomInt(100, 1000)}`;
const namespace = `srmd-${tag}`;
const hostSide = `srmdh${tag}`;
const instanceSide = `srmdi${tag}`;
// An address pair inside a namespace this test makes for itself.
const net = `10.213.${randomInt(0, 256)}`;
const gateway = `${net}.1`;
const instance = `${net}.2`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

describe('the metadata server of an instance with a network namespace', {
  skip: root ? false : 'needs root and ip',
}, () => {
  let server: MetadataServer;
  before(async () => {
    ip('netns', 'add', namespace);
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', instanceSide);
    ip('link', 'set', instanceSide, 'netns', namespace);
    ip('addr', 'add', `${gateway}/30`, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${instance}/30`, 'dev', instanceSide);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', instanceSide, 'up');
    server = await startMetadataServer({
      facts: TEST_FACTS,
      attributes: {},
      credentials: {
        accessToken: async () => ({ accessToken: 'not-for-outsiders', expiresInSeconds: 3599 }),
        identityToken: async () => 'not-for-outsiders',
      },
      host: gateway,
      allowedPeers: [instance],
      logger: silentLogger,
    });
  });
  after(async () => {
    await server?.close();
    // Deleting the namespace deletes its end of the veth pair, and with it the host's end.
    spawnSync('ip', ['netns', 'del', namespace]);
  });

  test('a process in the namespace reads it at the gateway address', async () => {
    const script = `fetch('http://${server.hostPort}/computeMetadata/v1/instance/name', { headers: { 'Metadata-Flavor': 'Google' } }).then(async (r) => console.log(r.status, await r.text()))`;
    // Asynchronously: the server answers from this very process.
    const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(stdout.trim(), '200 vm1');
  });

  test('a process outside the namespace is cut off before a byte is answered', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        {
          host: gateway,
          port: server.port,
          path: '/computeMetadata/v1/instance/service-accounts/default/token',
          headers: { 'Metadata-Flavor': 'Google' },
        },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
    assert.match(outcome, /ECONNRESET|socket hang up/);
  });
});
