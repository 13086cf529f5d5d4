// Instances in their own network namespaces: an EXPOSEd port is published on the host and reachable from
// another namespace, an unexposed one is refused, an EGRESS firewall rule refuses its range while other
// egress works, two instances cannot reach each other's unexposed ports, and stop leaves nothing behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliTestBed } from '@sealroom/cli/testing';
import { hostNames } from '@sealroom/launcher';
import {
  buildWorkloadImage,
  grantOperatorServiceAccount,
  type Json,
  SA,
  startLaunchBed,
  waitFor,
  ZONE,
} from '../support/launch.ts';

/**
 * Serves `exposed` on 8080 (EXPOSEd) and `hidden` on 7070 (not), then probes PROBES=name=host:port,… once; an
 * `exit` item in PROBES ends it after the probes.
 */
const WORKLOAD = `import net from 'node:net';
const serve = (port, tag) => net.createServer((s) => s.end(tag + '\\n')).listen(port, '0.0.0.0');
serve(8080, 'exposed');
serve(7070, 'hidden');
const probe = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port), timeout: 8000 });
  let data = '';
  s.on('data', (d) => (data += d));
  s.on('end', () => resolve('ok ' + data.trim()));
  s.on('timeout', () => { s.destroy(); resolve('timeout'); });
  s.on('error', (e) => resolve('error ' + e.code));
});
const items = (process.env.PROBES ?? '').split(',').filter(Boolean);
for (const item of items.filter((i) => i.includes('='))) {
  const [name, target] = item.split('=');
  const [host, port] = target.split(':');
  console.log('PROBE ' + name + ' ' + (await probe(host, port)));
}
if (items.includes('exit')) process.exit(0);
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

/** A TCP client run inside a namespace: prints `ok <answer>` or `error <code>`. */
const CLIENT = `const net = require('node:net');
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 8000 });
let data = '';
s.on('data', (d) => (data += d));
s.on('end', () => console.log('ok ' + data.trim()));
s.on('timeout', () => { s.destroy(); console.log('timeout'); });
s.on('error', (e) => console.log('error ' + e.code));`;

function unavailable(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const ip = spawnSync('ip', ['netns', 'list']);
  if (ip.status !== 0) return `ip netns is unavailable: ${ip.error?.message ?? ip.stderr.toString().trim()}`;
  if (spawnSync('nft', ['list', 'tables']).status !== 0) return 'nftables (nft) is unavailable';
  if (spawnSync('runc', ['--version']).status !== 0) return 'needs runc';
  return false;
}

const skip = unavailable();
const suffix = randomInt(0x100000, 0xffffff).toString(16);
const octet = randomInt(0, 250);
/** The outside world: a namespace on 198.18.X.0/30 (RFC 2544 benchmarking space), with 198.19.X.1 behind it. */
const outside = {
  netns: `sealroom-e2e-${suffix}`,
  hostIf: `sre${suffix}a`,
  peerIf: `sre${suffix}b`,
  hostAddress: `198.18.${octet}.1`,
  address: `198.18.${octet}.2`,
  deniedRange: `198.19.${octet}.0/24`,
  deniedAddress: `198.19.${octet}.1`,
};
let bed: CliTestBed | undefined;
let server: ChildProcess | undefined;
let image = '';
const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);
const run = (args: string[]) => {
  const result = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
};

/** A TCP connection from the outside namespace. */
function connectFromOutside(host: string, port: number): string {
  const result = spawnSync('ip', ['netns', 'exec', outside.netns, process.execPath, '-e', CLIENT, host, String(port)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return result.stdout.trim();
}

function removeOutside(): void {
  spawnSync('ip', ['route', 'del', outside.deniedRange]);
  spawnSync('ip', ['netns', 'del', outside.netns]);
  spawnSync('ip', ['link', 'del', outside.hostIf]);
}

before(async () => {
  if (skip) return;
  run(['ip', 'netns', 'add', outside.netns]);
  run(['ip', 'link', 'add', outside.hostIf, 'type', 'veth', 'peer', 'name', outside.peerIf]);
  run(['ip', 'link', 'set', outside.peerIf, 'netns', outside.netns]);
  run(['ip', 'addr', 'add', `${outside.hostAddress}/30`, 'dev', outside.hostIf]);
  run(['ip', 'link', 'set', outside.hostIf, 'up']);
  const inNs = ['ip', '-n', outside.netns];
  run([...inNs, 'addr', 'add', `${outside.address}/30`, 'dev', outside.peerIf]);
  run([...inNs, 'addr', 'add', `${outside.deniedAddress}/32`, 'dev', 'lo']);
  run([...inNs, 'link', 'set', outside.peerIf, 'up']);
  run([...inNs, 'link', 'set', 'lo', 'up']);
  run([...inNs, 'route', 'add', 'default', 'via', outside.hostAddress]);
  run(['ip', 'route', 'add', outside.deniedRange, 'via', outside.address]);
  // The outside service both egress probes aim at (one address allowed, one behind the denied range).
  server = spawn(
    'ip',
    [
      'netns',
      'exec',
      outside.netns,
      process.execPath,
      '-e',
      `require('node:net').createServer((s) => s.end('outside\\n')).listen(8000, '0.0.0.0', () => console.log('listening'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.once('data', () => resolve());
    server?.once('exit', (code) => reject(new Error(`the outside server exited with ${code}`)));
  });

  bed = await startLaunchBed('e2e-netiso');
  ({ imageRef: image } = await buildWorkloadImage(ok, {
    dir: join(bed.dir, 'app'),
    registry: new URL(bed.server.url).host,
    repository: 'builder-project/repo1',
    name: 'netprobe',
    source: WORKLOAD,
    buildConfig: { expose: [8080], launchPolicy: { allow_env_override: ['PROBES'], log_redirect: 'always' } },
  }));
  await grantOperatorServiceAccount(bed);
});

after(async () => {
  await bed?.close();
  if (server?.pid !== undefined) server.kill('SIGKILL');
  if (!skip) removeOutside();
});

async function createInstance(name: string, probes: string, tags?: string, restart = 'Never'): Promise<void> {
  await ok(
    'compute',
    'instances',
    'create',
    name,
    `--zone=${ZONE}`,
    '--image-family=confidential-space',
    `--service-account=${SA}`,
    ...(tags ? [`--tags=${tags}`] : []),
    '--metadata',
    `^~^tee-image-reference=${image}~tee-container-log-redirect=true~tee-restart-policy=${restart}~tee-env-PROBES=${probes}`,
  );
}

/** The instance once its workload printed every probe, with those results. */
async function probesOf(name: string, count: number): Promise<{ vm: Json; probes: Record<string, string> }> {
  let serial = '';
  return waitFor(`${name}'s probes`, async () => {
    serial = await ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);
    const probes = Object.fromEntries(
      [...serial.matchAll(/workload stdout: PROBE (\S+) (.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (/power off|exit code/.test(serial) && Object.keys(probes).length < count)
      throw new Error(`${name} stopped early:\n${serial}`);
    if (Object.keys(probes).length < count) return undefined;
    const vm = JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
    return { vm, probes };
  }).catch((error: Error) => {
    throw new Error(`${error.message}; serial output:\n${serial}`);
  });
}

describe('instance network isolation', { skip }, () => {
  test('EXPOSEd ports are published, others refused; an EGRESS rule refuses its range only; nothing is left after stop', async () => {
    await ok(
      'compute',
      'firewall-rules',
      'create',
      'deny-outside',
      '--direction=EGRESS',
      '--action=DENY',
      '--rules=all',
      `--destination-ranges=${outside.deniedRange}`,
      '--target-tags=netiso',
    );
    const listed = JSON.parse(await ok('compute', 'firewall-rules', 'list', '--format=json'));
    assert.deepEqual(
      listed.map((r: Json) => [r.name, r.direction, r.denied, r.destinationRanges, r.targetTags]),
      [['deny-outside', 'EGRESS', [{ IPProtocol: 'all' }], [outside.deniedRange], ['netiso']]],
    );

    await createInstance('net-a', `allowed=${outside.address}:8000,denied=${outside.deniedAddress}:8000`, 'netiso');
    const a = await probesOf('net-a', 2);
    assert.equal(a.probes.allowed, 'ok outside', JSON.stringify(a.probes));
    assert.match(a.probes.denied ?? '', /^error ECONNREFUSED|^error EHOSTUNREACH/);

    const network = a.vm.confidentialSpace.network;
    assert.equal(network.isolation, 'namespace');
    const published = network.publishedPorts.find((p: Json) => p.port === 8080 && p.protocol === 'tcp');
    assert.ok(published, JSON.stringify(network));
    const nic = a.vm.networkInterfaces[0];
    const natIP: string = nic.accessConfigs[0].natIP;
    const instanceIP: string = nic.networkIP;
    assert.match(instanceIP, /^10\.213\./);
    const serialA = await ok('compute', 'instances', 'get-serial-port-output', 'net-a', `--zone=${ZONE}`);
    assert.match(serialA, new RegExp(`EXPOSEd port 8080/tcp published on \\S+:${published.hostPort}`));
    assert.match(serialA, /network isolation: namespace/);

    // From another namespace: the published port answers, the unexposed one is refused.
    assert.equal(connectFromOutside(natIP, published.hostPort), 'ok exposed');
    assert.equal(connectFromOutside(instanceIP, 8080), 'ok exposed');
    assert.equal(connectFromOutside(instanceIP, 7070), 'error ECONNREFUSED');

    // Another instance (no tag: the egress rule does not apply) reaches net-a's EXPOSEd port only.
    await createInstance(
      'net-b',
      `peer-exposed=${instanceIP}:8080,peer-hidden=${instanceIP}:7070,outside=${outside.deniedAddress}:8000`,
    );
    const b = await probesOf('net-b', 3);
    assert.equal(b.probes['peer-exposed'], 'ok exposed');
    assert.equal(b.probes['peer-hidden'], 'error ECONNREFUSED');
    assert.equal(b.probes.outside, 'ok outside', 'the rule targets the netiso tag only');

    for (const name of ['net-a', 'net-b']) await ok('compute', 'instances', 'stop', name, `--zone=${ZONE}`);
    const tag = createHash('sha256')
      .update(join((bed as CliTestBed).dir, 'state'))
      .digest('hex')
      .slice(0, 6);
    const names = hostNames(tag);
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(netns, new RegExp(names.netnsPrefix));
    const links = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(links, new RegExp(`^${names.interfacePrefix}`, 'm'));
    const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(tables, new RegExp(names.table));

    await ok('compute', 'firewall-rules', 'delete', 'deny-outside');
    assert.equal(JSON.parse(await ok('compute', 'firewall-rules', 'list', '--format=json')).length, 0);
  });
  test('between boots nothing listens on the gateway: the metadata server closes before the link is given back', async () => {
    // A workload that ends at once under restart policy Always: boots, each on a link of its own, with waits
    // between them. In a wait the link and its machine-wide claim are free for any instance to take, so the last
    // boot's metadata server must no longer hold the gateway's port (another instance given the link could not
    // bind its own: EADDRINUSE).
    await createInstance('net-c', 'exit', undefined, 'Always');
    const serialOf = () => ok('compute', 'instances', 'get-serial-port-output', 'net-c', `--zone=${ZONE}`);
    // The third wait is 4 s: long enough to look while the instance has no link.
    const waiting = await waitFor('net-c to wait before its fourth boot', async () => {
      const serial = await serialOf();
      return /keeps ending at once; boot 4 in/.test(serial) ? serial : undefined;
    });
    const before = waiting.slice(0, waiting.lastIndexOf('keeps ending at once; boot 4 in'));
    const gateway = [...before.matchAll(/network isolation: namespace, address \S+ via gateway (\S+)/g)].at(-1)?.[1];
    assert.ok(gateway, waiting);
    const listening = spawnSync('ss', ['-Hltn'], { encoding: 'utf8' }).stdout;
    // Still in the wait when `ss` looked: no network of a fourth boot since.
    const after = await serialOf();
    assert.doesNotMatch(after.slice(after.lastIndexOf('keeps ending at once; boot 4 in')), /network isolation:/);
    assert.doesNotMatch(listening, new RegExp(`\\s${gateway.replaceAll('.', '\\.')}:80\\s`), listening);
    await ok('compute', 'instances', 'stop', 'net-c', `--zone=${ZONE}`);
  });
});
