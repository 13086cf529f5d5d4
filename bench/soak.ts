// Soak: a mixed load (KMS encrypt/decrypt, STS exchange and a decrypt with the token it issued, IAM GET, Pub/Sub
// publish/pull/ack from wrk; attestations verified one after another from this process) against `sealroom serve`
// in its own process for --minutes, printing every --interval seconds the server's RSS, heap used, external memory,
// open file descriptors and SQLite WAL size;
// then it stops the load, waits --settle seconds and says whether RSS came back (the memory goal).
// Run: npm exec -- node bench/soak.ts [--minutes 10] [--interval 30] [--settle 60] [--connections 16]
//        [--snapshots DIR]   (heap snapshots of the server after warm-up and after the load, to find what grows)
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PlatformCa } from '@sealroom/attest';
import { apiOf } from './lib/api.ts';
import { attesterOf, bootInstance, preparePlatformCa } from './lib/attester.ts';
import { connectInspector, inspectorUrlOf } from './lib/inspector.ts';
import { describeMachine, openFds, rssBytes } from './lib/proc.ts';
import { startSealroom } from './lib/processes.ts';
import { setUpKms, setUpSts } from './lib/scenarios.ts';
import { luaString, requireWrk, runWrkScript } from './lib/wrk.ts';

/** The issue's bound: RSS after warm-up grows less than this over the soak, and comes back when load stops. */
const MAX_GROWTH = 0.2;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '30' },
    settle: { type: 'string', default: '60' },
    connections: { type: 'string', default: '16' },
    snapshots: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const intervalS = Number(values.interval);
const settleS = Number(values.settle);
if (!(minutes > 0 && intervalS > 0 && settleS >= 0)) {
  console.error('usage: npm exec -- node bench/soak.ts [--minutes N] [--interval S] [--settle S] [--snapshots DIR]');
  process.exit(2);
}
requireWrk();
console.log(`bench/soak: ${minutes} min mixed load, wrk -t1 -c${values.connections}; ${describeMachine()}`);

let ca: PlatformCa | undefined;
const server = await startSealroom({
  nodeFlags: ['--inspect=127.0.0.1:0'],
  prepareState: (dir) => (ca = preparePlatformCa(dir)),
});
const scratchDir = mkdtempSync(join(tmpdir(), 'sealroom-soak-'));
try {
  const inspectorUrl = inspectorUrlOf(server.logs());
  if (!inspectorUrl) throw new Error(`the server printed no inspector address:\n${server.logs()}`);
  const inspector = await connectInspector(inspectorUrl);

  // What the load touches, set up as a user would.
  const api = apiOf(server.url);
  const token = await api.login('soak@example.com');
  const member = 'user:soak@example.com';
  const projectNumber = await api.createProject(token, 'soak-bench');
  const kms = await setUpKms(api, token, 'soak-bench', member);
  const sts = await setUpSts(api, token, 'soak-bench', projectNumber);
  await api.call(token, 'PUT', '/v1/projects/soak-bench/topics/soak-topic', {});
  await api.call(token, 'PUT', '/v1/projects/soak-bench/subscriptions/soak-sub', {
    topic: 'projects/soak-bench/topics/soak-topic',
  });
  const sa = await api.call(token, 'POST', '/v1/projects/soak-bench/serviceAccounts', { accountId: 'operator-sa' });
  await api.grant(token, 'projects/soak-bench', 'roles/iam.serviceAccountTokenCreator', member);
  await api.grant(token, 'projects/soak-bench', 'roles/confidentialcomputing.workloadUser', member);
  const attester = attesterOf(
    api,
    token,
    'soak-bench',
    await bootInstance(ca as PlatformCa, 'soak-bench', projectNumber),
    sa.email,
  );

  // Workloads of the pool decrypt with the access token their exchange returned, as the seed's workload does.
  await api.grant(
    token,
    kms.key,
    'roles/cloudkms.cryptoKeyDecrypter',
    `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/bench-pool/*`,
  );
  const json = `{ ["content-type"] = "application/json", ["authorization"] = ${luaString(`Bearer ${token}`)} }`;
  const form = '{ ["content-type"] = "application/x-www-form-urlencoded" }';
  const kinds: Array<[string, string, string, string | undefined]> = [
    ['POST', `/v1/${kms.key}:encrypt`, json, kms.encryptBody],
    ['POST', `/v1/${kms.key}:decrypt`, json, kms.decryptBody],
    ['POST', '/v1/token', form, sts.form],
    ['GET', `/v1/${kms.key}`, json, undefined],
    [
      'POST',
      '/v1/projects/soak-bench/topics/soak-topic:publish',
      json,
      JSON.stringify({ messages: [{ data: 'c29haw==' }] }),
    ],
    ['POST', '/v1/projects/soak-bench/subscriptions/soak-sub:pull', json, JSON.stringify({ maxMessages: 10 })],
  ];
  // Each pull's ackIds are acknowledged by a next request, so the subscription stays drained; each exchange's
  // fresh access token decrypts once, so every seventh request or so carries a token the server has not seen.
  const script = `
local kinds = {}
init = function(args)
${kinds.map(([m, p, h, b]) => `  kinds[#kinds + 1] = wrk.format("${m}", ${luaString(p)}, ${h}, ${b === undefined ? 'nil' : luaString(b)})`).join('\n')}
end
local cursor = 0
local pendingAcks = {}
local federated = nil
request = function()
  if #pendingAcks > 0 then
    local body = '{"ackIds":["' .. table.concat(pendingAcks, '","') .. '"]}'
    pendingAcks = {}
    return wrk.format("POST", "/v1/projects/soak-bench/subscriptions/soak-sub:acknowledge", ${json}, body)
  end
  if federated ~= nil then
    local headers = { ["content-type"] = "application/json", ["authorization"] = "Bearer " .. federated }
    federated = nil
    return wrk.format("POST", ${luaString(`/v1/${kms.key}:decrypt`)}, headers, ${luaString(kms.decryptBody)})
  end
  cursor = cursor % #kinds + 1
  return kinds[cursor]
end
response = function(status, headers, body)
  for id in body:gmatch('"ackId"%s*:%s*"([^"]+)"') do pendingAcks[#pendingAcks + 1] = id end
  local issued = body:match('"access_token"%s*:%s*"([^"]+)"')
  if issued ~= nil then federated = issued end
end
`;
  const walFile = join(server.stateDir, 'sealroom.db-wal');
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`.padStart(10);
  const sample = async (label: string) => {
    const memory = await inspector.memory();
    const rss = rssBytes(server.pid);
    const wal = existsSync(walFile) ? statSync(walFile).size : 0;
    console.log(
      `${label.padEnd(14)} rss ${mb(rss)}  heap used ${mb(memory.heapUsed)} of ${mb(memory.heapTotal)}  ` +
        `external ${mb(memory.external)}  ` +
        `fds ${String(openFds(server.pid)).padStart(5)}  wal ${mb(wal)}`,
    );
    return rss;
  };
  await sample('before load');

  const started = performance.now();
  let stopping = false;
  let attestations = 0;
  let attestationFailures = 0;
  const verifierLoop = (async () => {
    while (!stopping) {
      const { path, body } = await attester.attest();
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (res.ok) attestations++;
      else attestationFailures++;
    }
  })();
  const load = runWrkScript(server.url, script, {
    seconds: Math.round(minutes * 60),
    connections: Number(values.connections),
    scratchDir,
  });
  const rssUnderLoad: number[] = [];
  const snapshotsDir = values.snapshots;
  if (snapshotsDir) mkdirSync(snapshotsDir, { recursive: true });
  let tick = 1;
  let finished = false;
  load.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    const due = started + tick * intervalS * 1000;
    while (!finished && performance.now() < due) await new Promise((resolve) => setTimeout(resolve, 250));
    if (finished) break;
    rssUnderLoad.push(await sample(`${((performance.now() - started) / 1000).toFixed(0)} s`));
    if (tick === 1 && snapshotsDir) await inspector.heapSnapshot(join(snapshotsDir, 'warm.heapsnapshot'));
    tick++;
  }
  const result = await load;
  stopping = true;
  await verifierLoop;
  console.log(
    `load: ${result.requests} wrk requests (${result.rps.toFixed(0)}/s ok, ${result.failed} failed, ` +
      `p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms); ${attestations} attestations verified` +
      `${attestationFailures ? `, ${attestationFailures} refused` : ''}`,
  );
  if (snapshotsDir) {
    await inspector.collectGarbage();
    await inspector.heapSnapshot(join(snapshotsDir, 'end.heapsnapshot'));
  }
  await new Promise((resolve) => setTimeout(resolve, settleS * 1000));
  const settled = await sample(`idle ${settleS} s`);
  await inspector.collectGarbage();
  const collected = await sample('after full GC');
  inspector.close();
  await sts.issuer.close();

  const warm = rssUnderLoad[0];
  const last = rssUnderLoad[rssUnderLoad.length - 1];
  if (snapshotsDir) {
    // Serialising a snapshot takes native memory the allocator keeps: RSS jumps by about the heap's size and
    // stays there, whatever the server does afterwards.
    console.log('\n(heap snapshots were taken: RSS after the first one says nothing about the server; rerun without)');
  }
  if (warm === undefined || last === undefined) {
    console.log('the soak was shorter than one interval: no growth figure');
  } else {
    const growth = (Math.max(...rssUnderLoad) - warm) / warm;
    const returned = settled <= warm * (1 + MAX_GROWTH);
    console.log(
      `\nRSS after warm-up ${mb(warm).trim()}, peak under load ${mb(Math.max(...rssUnderLoad)).trim()} ` +
        `(+${(growth * 100).toFixed(0)} %; goal < ${MAX_GROWTH * 100} %): ${growth < MAX_GROWTH ? 'met' : 'NOT met'}`,
    );
    console.log(
      `RSS ${settleS} s after the load stopped: ${mb(settled).trim()}: ${returned ? 'returned' : 'did NOT return'}`,
    );
    // What a full collection gives back was garbage V8 had not collected yet (an idle server allocates little,
    // so it rarely collects); what stays is retained: the leak a heap snapshot comparison can find.
    console.log(
      `RSS after a full GC: ${mb(collected).trim()} (${collected <= warm * (1 + MAX_GROWTH) ? 'nothing retained beyond the bound' : 'retained beyond the bound'})`,
    );
  }
} finally {
  await server.stop();
  rmSync(scratchDir, { recursive: true, force: true });
}
