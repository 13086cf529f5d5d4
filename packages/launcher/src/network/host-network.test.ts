// The host network manager on real namespaces (root only): a firewall change applies to a running
// instance at once, release leaves nothing, and a new manager removes what a crashed one left.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:net';
import { basename } from 'node:path';
import { after, describe, test } from 'node:test';
import type { FirewallRule } from './firewall.ts';
import { createHostNetwork, hostNames, probeNetworkIsolation } from './host-network.ts';

const CLIENT = `const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 8000 });
let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log('ok ' + d.trim()));
s.on('timeout', () => { s.destroy(); console.log('timeout'); }); s.on('error', (e) => console.log('error ' + e.code));`;

const reason = await probeNetworkIsolation();
const hostTag = randomBytes(3).toString('hex');
const names = hostNames(hostTag);

/** Connects from inside the namespace; asynchronous, since the server answering is in this process. */
function connectFrom(netnsPath: string, host: string, port: number): Promise<string> {
  const ns = basename(netnsPath);
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, host, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 30_000,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', () => resolve(out.trim()));
  });
}

const denyGateway = (gateway: string): FirewallRule => ({
  name: 'deny-gateway',
  priority: 1000,
  direction: 'EGRESS',
  action: 'deny',
  matches: [{ protocol: 6, ports: [] }],
  sourceRanges: [],
  destinationRanges: [`${gateway}/32`],
  targetTags: [],
  targetServiceAccounts: [],
  disabled: false,
});

describe('host network on real namespaces', { skip: reason ?? false }, () => {
  let server: Server | undefined;
  after(async () => {
    server?.close();
    // Whatever happened above, nothing of this host tag stays.
    spawnSync('nft', ['delete', 'table', 'inet', names.table]);
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const line of list.split('\n'))
      if (line.startsWith(names.netnsPrefix)) spawnSync('ip', ['netns', 'del', line.split(' ')[0] as string]);
  });

  test('a firewall change reaches a running instance at once, and release removes namespace, veth and table', async () => {
    const network = await createHostNetwork({ hostTag, pool: '10.213.0.0/16' });
    const view = await network.attach('i1', { rules: [], tags: [], serviceAccount: 'sa@p' });
    server = createServer((s) => s.end('host\n'));
    await new Promise<void>((resolve) => server?.listen(0, view.gatewayAddress, resolve));
    const port = (server.address() as { port: number }).port;
    assert.equal(await connectFrom(view.netnsPath, view.gatewayAddress, port), 'ok host');
    await network.setFirewall('i1', [denyGateway(view.gatewayAddress)]);
    assert.equal(await connectFrom(view.netnsPath, view.gatewayAddress, port), 'error ECONNREFUSED');
    await network.setFirewall('i1', []);
    assert.equal(await connectFrom(view.netnsPath, view.gatewayAddress, port), 'ok host');
    await network.release('i1');
    assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, new RegExp(names.netnsPrefix));
    assert.doesNotMatch(
      spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout,
      new RegExp(`^${names.interfacePrefix}`, 'm'),
    );
    assert.doesNotMatch(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout, new RegExp(names.table));
    await network.close();
  });

  test('a new manager removes the namespaces and rules a crashed one left', async () => {
    const crashed = await createHostNetwork({ hostTag, pool: '10.213.0.0/16' });
    const view = await crashed.attach('i2', { rules: [], tags: [], serviceAccount: 'sa@p' });
    assert.match(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, new RegExp(basename(view.netnsPath)));
    // The first manager never closes, as after a crash; the next one starts clean.
    const next = await createHostNetwork({ hostTag, pool: '10.213.0.0/16' });
    assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, new RegExp(names.netnsPrefix));
    assert.doesNotMatch(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout, new RegExp(names.table));
    await next.close();
  });
});
