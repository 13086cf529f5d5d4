// The seed word-count scenario on three `sealroom serve` replicas sharing one PostgreSQL database, NATS
// JetStream and one blob directory, every request spread round-robin by a retrying proxy that is also the public
// gRPC endpoint: the count is exact, and a replica killed with SIGKILL while the collaborators publish, and while
// it holds the workload's StreamingPull, loses nothing acknowledged.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Party, type Tutorial, type WordcountResult, setUpTutorial } from '@sealroom/example-wordcount';
import { openPostgresDatabase } from '@sealroom/postgres';
import { createTestPostgres, type TestPostgres } from '@sealroom/postgres/testing';
import { dropNatsStreamsOf } from '@sealroom/pubsub/testing';
import { isolationMissing } from '../support/launch.ts';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.ts';
import { type ServerProcess, freePort, startServerProcess } from '../support/server-process.ts';

const NATS = 'nats://127.0.0.1:4222';
/** Rounds of publishes; each collaborator publishes two words a round, and the kill lands in round KILL_ROUND. */
const ROUNDS = 4;
const KILL_ROUND = 1;
const WAIT_MS = 120_000;

const natsUp = await new Promise<boolean>((resolve) => {
  const socket = connect({ host: '127.0.0.1', port: 4222 }, () => {
    socket.destroy();
    resolve(true);
  });
  socket.once('error', () => resolve(false));
});
const skip =
  process.env.SEALROOM_TEST_POSTGRES === '0'
    ? 'SEALROOM_TEST_POSTGRES=0: no PostgreSQL'
    : !natsUp
      ? `no NATS JetStream at ${NATS}`
      : isolationMissing();

const root = mkdtempSync(join(tmpdir(), 'sealroom-replicas-scenario-'));
let database: TestPostgres | undefined;
let proxy: RoundRobinProxy | undefined;
let tutorial: Tutorial | undefined;
const replicas: ServerProcess[] = [];
const lines: string[] = [];

after(async () => {
  await tutorial?.close();
  for (const r of replicas) {
    await r.stop('SIGKILL');
    r.cleanup();
  }
  await proxy?.close();
  if (database) {
    // The shared NATS keeps streams beyond the database: delete the ones this deployment created.
    const db = await openPostgresDatabase({ url: database.url, maxConnections: 1 });
    await dropNatsStreamsOf(db, NATS).finally(() => db.close());
  }
  await database?.drop();
  rmSync(root, { recursive: true, force: true });
});

before(async () => {
  if (skip) return;
  proxy = await startRoundRobinProxy();
  database = await createTestPostgres();
  const stateDir = join(root, 'state');
  const start = async () => {
    const grpcPort = await freePort();
    const replica = await startServerProcess({
      stateDir,
      extraArgs: [
        ...['--database-url', database?.url ?? '', '--pubsub-backend', NATS, '--blob-dir', join(root, 'blobs')],
        // Every replica is named by the proxy's URL: the issuer and audience of the tokens they sign; and clients
        // and instances reach gRPC through the proxy's TCP port.
        ...['--base-url', proxy?.url ?? '', '--grpc-port', String(grpcPort)],
        ...['--public-grpc-endpoint', `127.0.0.1:${proxy?.grpcPort}`],
      ],
      readyTimeoutMs: 120_000,
    });
    return { replica, grpcPort };
  };
  // The first replica initialises the shared state (root key, CA); the others join it.
  const started = [await start()];
  started.push(...(await Promise.all([start(), start()])));
  replicas.push(...started.map((s) => s.replica));
  proxy.setUpstreams(started.map((s) => ({ port: s.replica.port, grpcPort: s.grpcPort })));
  // Every replica names the proxy as the gRPC endpoint, whichever wrote the shared endpoints.json last.
  const endpoints = JSON.parse(readFileSync(join(stateDir, 'endpoints.json'), 'utf8')) as { ca: string; grpc: string };
  assert.equal(endpoints.grpc, `127.0.0.1:${proxy.grpcPort}`);
  tutorial = await setUpTutorial({
    baseUrl: proxy.url,
    grpc: { host: '127.0.0.1', port: proxy.grpcPort, caPem: readFileSync(endpoints.ca, 'utf8') },
    print: (line) => lines.push(line),
    instances: 'compute',
  });
});

/** The replica that answered the most recent request matching `method` and `path`. */
function answeredBy(method: string, path: RegExp): number {
  const hit = proxy?.answered.findLast((r) => r.method === method && path.test(r.path) && r.status < 300);
  assert.ok(hit, `a ${method} ${path} was answered:\n${lines.join('\n')}`);
  return hit.upstream;
}

test('the seed scenario across three replicas counts exactly, through a SIGKILL while collaborators publish', {
  skip,
  timeout: 300_000,
}, async () => {
  const t = tutorial as Tutorial;
  const [c1, c2] = t.collaborators;
  const roleOf = (p: Party) => (p === c1 ? 'collaborator-1' : p === c2 ? 'collaborator-2' : 'operator');
  const activate = (p: Party) => p.cli.sealroom(['config', 'configurations', 'activate', roleOf(p)], { quiet: true });
  const workload = await t.startInstance();
  try {
    // The instance runs on the replica that answered its creation; the victim is another one, and the proxy
    // sends the workload's gRPC (its StreamingPull) to the victim until it dies.
    const runner = answeredBy('POST', /\/zones\/[^/]+\/instances(\?|$)/);
    const victimIndex = [0, 1, 2].find((i) => i !== runner) as number;
    const victim = replicas[victimIndex] as ServerProcess;
    const p = proxy as RoundRobinProxy;
    p.pinGrpc(victimIndex);
    const deadline = Date.now() + WAIT_MS;
    while ((p.openGrpcConnections[victimIndex] ?? 0) === 0) {
      assert.ok(
        Date.now() < deadline,
        `the workload connected to gRPC through the proxy:\n${await workload.serialOutput()}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const grpcElsewhere = () => p.grpcConnections.reduce((sum, n, i) => sum + (i === victimIndex ? 0 : (n ?? 0)), 0);

    // Key versions created before the kill, through whichever replica the proxy picks.
    const versions: string[] = [];
    for (const c of [c1, c2]) {
      await activate(c);
      for (let i = 0; i < 2; i++) {
        const version = await c.cli.rest('POST', `/v1/${t.kmsKeyOf(c)}/cryptoKeyVersions`, {});
        versions.push(version.name as string);
      }
    }

    const publish = async (c: Party, words: string) => {
      await activate(c);
      await c.cli.wordcount([
        'publish',
        `--topicProject=${t.operator.project}`,
        `--user=${words}`,
        `--kmsKey=${t.kmsKeyOf(c)}`,
        `--audience=${t.audienceOf(c)}`,
      ]);
    };
    let killed: Promise<number | null> | undefined;
    let atKill = 0;
    let grpcBeforeKill = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const first = publish(c1, 'alice,carol');
      // SIGKILL while a publish (KMS wrap and Pub/Sub publish through the proxy) is in flight.
      if (round === KILL_ROUND) {
        atKill = proxy?.answered.length ?? 0;
        grpcBeforeKill = grpcElsewhere();
        assert.ok((p.openGrpcConnections[victimIndex] ?? 0) > 0, "the victim holds the workload's gRPC when killed");
        killed = victim.stop('SIGKILL');
      }
      await first;
      await publish(c2, 'alice,dave');
    }
    assert.equal(await killed, null, 'the replica was killed, not stopped');
    const survivors = replicas.filter((r) => r !== victim);
    const afterKill = proxy?.answered.slice(atKill) ?? [];
    assert.ok(
      afterKill.some((r) => r.retried > 0),
      'requests that reached the killed replica were retried onto the others',
    );
    assert.ok(!afterKill.some((r) => r.upstream === victimIndex), 'nothing answered by the killed replica');

    // Every acknowledged publish is counted once: four contributions a round, exactly.
    const expected = 4 * ROUNDS;
    await workload.waitForContributions(expected, WAIT_MS);
    assert.ok(grpcElsewhere() > grpcBeforeKill, "the workload's gRPC client reconnected to a surviving replica");
    for (const c of [c1, c2]) {
      await activate(c);
      const result = JSON.parse(await c.cli.wordcount(['results', `--project=${c.project}`])) as WordcountResult;
      assert.deepEqual(
        { alice: result.counts.alice, carol: result.counts.carol, dave: result.counts.dave },
        { alice: 2 * ROUNDS, carol: ROUNDS, dave: ROUNDS },
        `${c.project}'s result: ${JSON.stringify(result.counts)}`,
      );
    }

    for (const c of [c1, c2]) {
      await activate(c);
      const token = await c.cli.accessToken();
      // Each version created before the kill is listed by every surviving replica.
      for (const replica of survivors) {
        const res = await fetch(`${replica.url}/v1/${t.kmsKeyOf(c)}/cryptoKeyVersions?pageSize=1000`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const listed = ((await res.json()) as { cryptoKeyVersions?: { name: string }[] }).cryptoKeyVersions ?? [];
        const names = new Set(listed.map((v) => v.name));
        for (const name of versions.filter((v) => v.startsWith(t.kmsKeyOf(c))))
          assert.ok(names.has(name), `${name} is listed by ${replica.url}`);
      }
      // The project's audit chain, appended to by three replicas (one killed mid-way), verifies.
      const verified = await c.cli.rest('GET', `/v1/projects/${c.project}/logs:verify`);
      assert.equal(verified.ok, true, JSON.stringify(verified));
    }
  } finally {
    // Stopping the instance is answered only by the replica running it: the proxy retries the 503s.
    await activate(t.operator);
    await workload.stop();
  }
  assert.equal(
    answeredBy('POST', /\/instances\/vm1\/stop(\?|$)/),
    answeredBy('POST', /\/zones\/[^/]+\/instances(\?|$)/),
    'the stop reached the replica running the instance',
  );
});
