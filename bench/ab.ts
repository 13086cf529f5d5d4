// Two builds side by side: this checkout's `sealroom serve` and another build's, each in its own process with the
// same KMS key and workload identity provider set up, and wrk alternating between them phase by phase, round
// after round, so both meet the same moments of a shared machine (sequential runs of one build, then the other,
// move by 30–50 % with the machine's other work). Prints each build's event-loop µs per request round by round, the medians, and the change.
// Run: npm exec -- node bench/ab.ts OTHER_BIN [rounds] [seconds-per-phase] [connections] [idle-seconds]
//   OTHER_BIN: a copy of another commit's packages/cli/bin and dist/, its bin/sealroom.js importing
//   ../dist/entry.mjs (see docs/performance.md).
//   idle-seconds: first load both builds (key GETs, 10 s each), then leave both idle this long, printing RSS, so
//   the rounds measure how each runs after falling idle (what a server does with its heap between loads).
//   SEALROOM_BENCH_AB_OTHER_FLAGS (node flags) and SEALROOM_BENCH_AB_OTHER_ENV (`NAME=value` pairs): given to the
//   other build's process only, so one build can be run against itself tuned (this checkout's bin as OTHER_BIN).
//   SEALROOM_BENCH_AB_PHASES: comma-separated phase names to run (`GET /healthz` always runs: the ratios need it).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiOf } from './lib/api.ts';
import { cpuMicros, describeMachine, mainThreadCpuMicros, rssBytes } from './lib/proc.ts';
import { type SealroomProcess, startSealroom } from './lib/processes.ts';
import { setUpKms, setUpSts, type StsScenario } from './lib/scenarios.ts';
import { requireWrk, runWrk, type WrkRequest } from './lib/wrk.ts';

const [otherArg, roundsArg = '6', secondsArg = '3', connectionsArg = '32', idleArg = '0'] = process.argv.slice(2);
const idleSeconds = Number(idleArg);
const rounds = Number(roundsArg);
const seconds = Number(secondsArg);
const connections = Number(connectionsArg);
if (
  !otherArg ||
  !existsSync(otherArg) ||
  !(rounds > 0) ||
  !(seconds > 0) ||
  !(connections > 0) ||
  !(idleSeconds >= 0)
) {
  console.error(
    'usage: npm exec -- node bench/ab.ts OTHER_BIN [rounds, default 6] [seconds, default 3] [connections, default 32] [idle-seconds, default 0]',
  );
  process.exit(2);
}
requireWrk();

interface Build {
  readonly name: string;
  readonly server: SealroomProcess;
  readonly sts: StsScenario;
  readonly phases: readonly { readonly name: string; readonly request: WrkRequest }[];
}

/** The phases SEALROOM_BENCH_AB_PHASES names (all when unset), and `GET /healthz`, which the ratios need. */
const chosen = (process.env.SEALROOM_BENCH_AB_PHASES ?? '').split(',').map((word) => word.trim());
const wanted = (phase: Build['phases'][number]) =>
  chosen.every((word) => word === '') || phase.name === 'GET /healthz' || chosen.includes(phase.name);

/** Per build name, per phase, per round: [event-loop µs per request, all threads µs per request, req/s]. */
const samplesOf = new Map<string, Map<string, [number, number, number][]>>([
  ['this', new Map()],
  ['other', new Map()],
]);

async function prepare(
  name: string,
  bin: string | undefined,
  extra: { nodeFlags?: readonly string[]; env?: Record<string, string> } = {},
): Promise<Build> {
  const server = await startSealroom({ ...(bin === undefined ? {} : { bin }), ...extra });
  const api = apiOf(server.url);
  const token = await api.login('bench@example.com');
  const projectNumber = await api.createProject(token, 'bench-ab');
  const { key, decryptBody } = await setUpKms(api, token, 'bench-ab', 'user:bench@example.com');
  const sts = await setUpSts(api, token, 'bench-ab', projectNumber);
  const bearer = { authorization: `Bearer ${token}` };
  return {
    name,
    server,
    sts,
    phases: (
      [
        { name: 'GET /healthz', request: { path: '/healthz' } },
        { name: 'GET a KMS key', request: { path: `/v1/${key}`, headers: bearer } },
        { name: 'GET a project', request: { path: '/v1/projects/bench-ab', headers: bearer } },
        {
          name: 'KMS decrypt 1 KiB',
          request: {
            method: 'POST',
            path: `/v1/${key}:decrypt`,
            headers: { ...bearer, 'content-type': 'application/json' },
            body: decryptBody,
          },
        },
        {
          name: 'STS exchange',
          request: {
            method: 'POST',
            path: '/v1/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: sts.form,
          },
        },
      ] satisfies Build['phases']
    ).filter(wanted),
  };
}

/**
 * The other build's node flags (`SEALROOM_BENCH_AB_OTHER_FLAGS`, space-separated) and added environment
 * (`SEALROOM_BENCH_AB_OTHER_ENV`, `NAME=value` space-separated): one build run two ways, e.g. a V8 or glibc tuning.
 */
function otherExtra(): { nodeFlags: string[]; env: Record<string, string> } {
  const words = (name: string) => (process.env[name] ?? '').split(' ').filter((word) => word !== '');
  const env: Record<string, string> = {};
  for (const pair of words('SEALROOM_BENCH_AB_OTHER_ENV')) {
    const at = pair.indexOf('=');
    if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { nodeFlags: words('SEALROOM_BENCH_AB_OTHER_FLAGS'), env };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

console.log(`bench/ab: this checkout against ${otherArg}`);
console.log(`${rounds} rounds, ${seconds} s per phase, wrk -t1 -c${connections}; ${describeMachine()}`);
const scratchDir = mkdtempSync(join(tmpdir(), 'sealroom-bench-ab-'));
/**
 * Both servers, the first-named started (and set up) first. Started in one order only, the first-started one
 * measured 6-10 % slower than the other in A/A runs here (the same build twice), so the rounds are split:
 * half with this build started first, half (after a restart of both) with the other first.
 */
const startBoth = async (thisFirst: boolean): Promise<Build[]> => {
  const startThis = () => prepare('this', undefined);
  const startOther = () => prepare('other', resolve(otherArg), otherExtra());
  if (thisFirst) return [await startThis(), await startOther()];
  const other = await startOther();
  return [await startThis(), other];
};
const stopBoth = async (builds: readonly Build[]) => {
  for (const build of builds) {
    await build.server.stop();
    await build.sts.issuer.close();
  }
};
let builds = await startBoth(true);
const rssLine = (when: string) =>
  console.log(
    `  RSS ${when}: ${builds.map((b) => `${b.name} ${(rssBytes(b.server.pid) / 1e6).toFixed(0)} MB`).join(', ')}`,
  );
try {
  if (idleSeconds > 0) {
    rssLine('before load');
    for (const build of builds) {
      const keyGet = build.phases.find((p) => p.name === 'GET a KMS key');
      if (keyGet) await runWrk(build.server.url, keyGet.request, { seconds: 10, connections, scratchDir });
    }
    rssLine('after 10 s of key GETs each');
    for (let waited = 0; waited < idleSeconds; waited += 10) {
      await new Promise((done) => setTimeout(done, Math.min(10, idleSeconds - waited) * 1000));
      rssLine(`idle ${Math.min(waited + 10, idleSeconds)} s`);
    }
  }
  for (let round = 0; round < rounds; round++) {
    if (round > 0 && round === Math.ceil(rounds / 2)) {
      rssLine('before the restart');
      await stopBoth(builds);
      builds = await startBoth(false);
      console.log('  (both restarted, the other build first)');
    }
    // The order alternates, so neither build always runs first in a round.
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const line: string[] = [];
      const samples = samplesOf.get(build.name) as Map<string, [number, number, number][]>;
      for (const phase of build.phases) {
        const pid = build.server.pid;
        const [all, loop] = [cpuMicros(pid), mainThreadCpuMicros(pid)];
        const result = await runWrk(build.server.url, phase.request, { seconds, connections, scratchDir });
        const ok = result.rps * result.seconds;
        const sample: [number, number, number] = [
          (mainThreadCpuMicros(pid) - loop) / ok,
          (cpuMicros(pid) - all) / ok,
          result.rps,
        ];
        const list = samples.get(phase.name) ?? [];
        list.push(sample);
        samples.set(phase.name, list);
        line.push(`${phase.name} ${sample[0].toFixed(0)} µs${result.failed > 0 ? ` (${result.failed} failed)` : ''}`);
      }
      console.log(`  round ${round + 1} ${build.name.padEnd(5)}  ${line.join(' · ')}`);
    }
  }
  console.log(
    `\n${'phase'.padEnd(20)}${'build'.padEnd(7)}${'loop µs (median, range)'.padEnd(26)}${'CPU µs'.padStart(8)}${'÷ /healthz req/s'.padStart(20)}`,
  );
  const [mine, theirs] = [samplesOf.get('this'), samplesOf.get('other')] as Map<string, [number, number, number][]>[];
  for (const phase of builds[0]?.phases ?? []) {
    for (const build of builds) {
      const samples = samplesOf.get(build.name)?.get(phase.name) ?? [];
      const healthz = samplesOf.get(build.name)?.get('GET /healthz') ?? [];
      const loops = samples.map((s) => s[0]);
      const ratios = samples.map((s, i) => s[2] / (healthz[i]?.[2] ?? Number.NaN));
      console.log(
        `${phase.name.padEnd(20)}${build.name.padEnd(7)}${`${median(loops).toFixed(0)} (${Math.min(...loops).toFixed(0)}–${Math.max(...loops).toFixed(0)})`.padEnd(26)}${median(
          samples.map((s) => s[1]),
        )
          .toFixed(0)
          .padStart(
            8,
          )}${`${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`.padStart(20)}`,
      );
    }
    const change =
      median((mine?.get(phase.name) ?? []).map((s) => s[0])) /
        median((theirs?.get(phase.name) ?? []).map((s) => s[0])) -
      1;
    console.log(
      `${''.padEnd(20)}this build's event loop per request: ${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)} %`,
    );
  }
  rssLine('after the rounds');
} finally {
  await stopBoth(builds);
  rmSync(scratchDir, { recursive: true, force: true });
}
