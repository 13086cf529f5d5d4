// Remote hosts end to end: two hosts, each in its own network namespace, join a control plane in the root
// namespace with enrolment tokens; instances go to the host of their zone's pool; create, stop, start, reset
// and delete reach them; SIGKILL of an agent marks its instances lost and leaves no workload running.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliTestBed } from '@sealroom/cli/testing';
import {
  containerPid,
  createNetnsLab,
  type HostAgentProcess,
  type NetnsLab,
  netnsMissing,
  runcContainers,
  sealroomIn,
  startHostAgent,
} from '../support/hosts.ts';
import {
  claimLines,
  instancesCreateLine,
  isolationMissing,
  type Json,
  type SignedImage,
  startClaimsLaunchBed,
  waitFor,
} from '../support/launch.ts';

const ZONE_A = 'us-central1-a';
const ZONE_B = 'us-central1-b';
const ADMIN = 'admin@sealroom.internal';
const runcMissing = (): string | false => {
  const missing = isolationMissing();
  return missing === false && process.getuid?.() !== 0 ? 'needs runc as root' : missing;
};
const skip = netnsMissing() || runcMissing();

let lab: NetnsLab | undefined;
let bed: CliTestBed | undefined;
let imageRef: string;
const agents: HostAgentProcess[] = [];

const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);
const asAdmin = (...argv: string[]) => ok(...argv, `--account=${ADMIN}`);
const describeVm = async (name: string, zone: string): Promise<Json> =>
  JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${zone}`, '--format=json'));
const serial = (name: string, zone: string) =>
  ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${zone}`);
const createLine = (name: string, zone: string, metadata: string) =>
  instancesCreateLine(name, imageRef, metadata).map((arg) => (arg.startsWith('--zone=') ? `--zone=${zone}` : arg));
const hostsList = async (): Promise<Json[]> => JSON.parse(await asAdmin('host', 'list', '--format=json'));
const stateDirOf = (name: string) => join((bed as CliTestBed).dir, `host-${name}`);

async function issueToken(pool: string, ttl = '10m'): Promise<string> {
  const file = join((bed as CliTestBed).dir, `token-${pool}-${Date.now()}-${Math.random()}`);
  await asAdmin('host', 'tokens', 'create', `--pool=${pool}`, `--ttl=${ttl}`, `--output-file=${file}`);
  return file;
}

async function join_(ns: string, name: string, tokenFile: string) {
  return sealroomIn(ns, [
    'host',
    'join',
    `--api=${(bed as CliTestBed).server.url}`,
    `--token-file=${tokenFile}`,
    `--name=${name}`,
    `--state-dir=${stateDirOf(name)}`,
    '--insecure-enrolment',
  ]);
}

async function waitRunning(name: string, zone: string): Promise<Json> {
  try {
    return await waitFor(`${name} prints its claims`, async () => {
      const text = await serial(name, zone);
      const vm = await describeVm(name, zone);
      const boots = vm.confidentialSpace?.bootCount ?? 1;
      return vm.status === 'RUNNING' && claimLines(text).length >= boots ? vm : undefined;
    });
  } catch (error) {
    const logs = agents.map((a) => a.logs().slice(-4000)).join('\n---\n');
    throw new Error(`${(error as Error).message}\n${await serial(name, zone)}\n--- host agents:\n${logs}`);
  }
}

before(async () => {
  if (skip) return;
  lab = createNetnsLab(2);
  let image: SignedImage;
  ({ bed, image } = await startClaimsLaunchBed('e2e-hosts', { host: lab.gateway, compute: { hostLostSeconds: 20 } }));
  ({ imageRef } = image);
  await ok('auth', 'login', `--cred-file=${join(bed.server.config.stateDir, 'admin-credential.json')}`);
  // The operator acts as itself again; administrator commands name their account.
  await ok('auth', 'login', 'alice@example.com');
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGTERM')));
  await bed?.close();
  lab?.cleanup();
});

describe('remote hosts in their own network namespaces', { skip }, () => {
  test('an enrolment token works once, and not after it expires; a non-administrator cannot issue one', async () => {
    const [ns1] = (lab as NetnsLab).namespaces;
    const token = await issueToken(ZONE_A);
    const first = await join_(ns1!.name, 'h1', token);
    assert.equal(first.code, 0, first.stderr);
    const again = await join_(ns1!.name, 'h1-again', token);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /unknown, already used or expired/);
    const expiring = await issueToken(ZONE_A, '1s');
    const expired = await waitFor('the token expires', async () => {
      const result = await join_(ns1!.name, 'h1-late', expiring);
      return result.code !== 0 ? result : undefined;
    });
    assert.match(expired.stderr, /unknown, already used or expired/);
    const refused = await (bed as CliTestBed).cli('host', 'tokens', 'create', `--pool=${ZONE_A}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /administrators/);
  });

  test('instances go to the host of their zone; stop, start, reset and delete reach it', async () => {
    const [ns1, ns2] = (lab as NetnsLab).namespaces;
    const joined = await join_(ns2!.name, 'h2', await issueToken(ZONE_B));
    assert.equal(joined.code, 0, joined.stderr);
    agents.push(startHostAgent(ns1!.name, stateDirOf('h1')), startHostAgent(ns2!.name, stateDirOf('h2')));
    await waitFor('both hosts connected', async () => {
      const hosts = await hostsList();
      return hosts.filter((h) => h.connected).length === 2 ? hosts : undefined;
    });
    const wait = 'tee-restart-policy=Never~tee-cmd=["wait"]';
    await ok(...createLine('vm-a', ZONE_A, wait));
    await ok(...createLine('vm-b', ZONE_B, wait));
    const vmA = await waitRunning('vm-a', ZONE_A);
    const vmB = await waitRunning('vm-b', ZONE_B);
    const textA = await serial('vm-a', ZONE_A);
    assert.match(textA, /placed on host h1 \(pool us-central1-a\)/);
    assert.match(await serial('vm-b', ZONE_B), /placed on host h2 \(pool us-central1-b\)/);
    assert.equal(claimLines(textA)[0].gce.zone, ZONE_A);
    const hosts = await hostsList();
    assert.deepEqual(hosts.find((h) => h.name === 'h1')?.instances, [vmA.id], JSON.stringify(hosts));
    assert.deepEqual(hosts.find((h) => h.name === 'h2')?.instances, [vmB.id], JSON.stringify(hosts));
    assert.equal(runcContainers(stateDirOf('h1')).length, 1);

    await ok('compute', 'instances', 'stop', 'vm-a', `--zone=${ZONE_A}`);
    assert.equal((await describeVm('vm-a', ZONE_A)).status, 'TERMINATED');
    assert.match(await serial('vm-a', ZONE_A), /SIGTERM received/);
    assert.deepEqual(runcContainers(stateDirOf('h1')), []);

    await ok('compute', 'instances', 'start', 'vm-a', `--zone=${ZONE_A}`);
    assert.equal((await waitRunning('vm-a', ZONE_A)).confidentialSpace.bootCount, 2);
    await ok('compute', 'instances', 'reset', 'vm-a', `--zone=${ZONE_A}`);
    assert.equal((await waitRunning('vm-a', ZONE_A)).confidentialSpace.bootCount, 3);

    await ok('compute', 'instances', 'delete', 'vm-a', `--zone=${ZONE_A}`, '--quiet');
    assert.deepEqual(runcContainers(stateDirOf('h1')), []);
    assert.equal(existsSync(join(stateDirOf('h1'), 'instances', vmA.id)), false);
  });

  test('SIGKILL of a host agent marks its instances lost and leaves no workload running', async () => {
    const vmB = await describeVm('vm-b', ZONE_B);
    assert.equal(vmB.status, 'RUNNING');
    const [container] = runcContainers(stateDirOf('h2'));
    assert.ok(container, 'vm-b runs in a runc container');
    const pid = containerPid(stateDirOf('h2'), vmB.id, container);
    assert.ok(pid, 'the workload has a pid');
    const h2 = agents[1] as HostAgentProcess;
    assert.equal(await h2.stop('SIGKILL'), 'SIGKILL');
    await waitFor('the workload is gone', async () => (existsSync(`/proc/${pid}`) ? undefined : true));
    // The watchdog's `runc delete --force` kills the workload first and removes the container's state after.
    await waitFor('the container is deleted', async () =>
      runcContainers(stateDirOf('h2')).length === 0 ? true : undefined,
    );
    const lost = await waitFor('vm-b marked lost', async () => {
      const vm = await describeVm('vm-b', ZONE_B);
      return vm.status === 'TERMINATED' ? vm : undefined;
    });
    assert.match(lost.statusMessage, /host lost: h2/);
    const hosts = await hostsList();
    assert.equal(hosts.find((h) => h.name === 'h2')?.connected, false);
    assert.equal(hosts.find((h) => h.name === 'h1')?.connected, true);
  });
});
