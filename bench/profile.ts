// Summarises the server CPU profiles a benchmark wrote with `SEALROOM_BENCH_CPU_PROF=DIR`, phase by phase: the
// functions with the most self time, the same by package, and the time below each of the project's functions.
// Run: npm exec -- node bench/profile.ts DIR [phase-substring] [rows]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PHASES_FILE, type PhaseWindow, reportArgs } from './lib/profile.ts';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { dir, only, rows: ROWS } = reportArgs('bench/profile.ts', 25);
const newest = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (!newest) {
  console.error(`no .cpuprofile in ${dir}`);
  process.exit(2);
}
const profile = JSON.parse(readFileSync(newest, 'utf8')) as CpuProfile;
const phases = JSON.parse(readFileSync(join(dir, PHASES_FILE), 'utf8')) as PhaseWindow[];

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

/** Where a frame comes from: a workspace package, a dependency, Node itself, or V8's pseudo-frames. */
function originOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return `(${frame.functionName || 'anonymous'})`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1] as string;
  // The CLI bundle: name the chunk, whose line numbers the labels give.
  const chunk = /packages\/cli\/dist\/([^/]+)$/.exec(url);
  if (chunk) return `dist/${chunk[1]}`;
  const pkg = /packages\/([^/]+)\//.exec(url);
  if (pkg) return `@sealroom/${pkg[1]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^.*\//, '');
}
const labelOf = (frame: CallFrame): string =>
  `${frame.functionName || '(anonymous)'} ${originOf(frame)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
const isProject = (frame: CallFrame): boolean =>
  /packages\/[^/]+\/src\//.test(frame.url) || /cli\/dist\//.test(frame.url);

function top(map: Map<string, number>, total: number, rows: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(
      ([name, us]) =>
        `${((us / total) * 100).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    );
}

const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

for (const phase of phases) {
  if (only && !phase.name.includes(only)) continue;
  const self = new Map<string, number>();
  const origin = new Map<string, number>();
  const below = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    if (time < phase.startMicros || time > phase.endMicros) continue;
    // The sample's duration is the gap to the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    add(self, labelOf(node.callFrame), us);
    add(origin, originOf(node.callFrame), us);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = (byId.get(id) as ProfileNode).callFrame;
      if (!isProject(frame)) continue;
      const label = labelOf(frame);
      if (seen.has(label)) continue;
      seen.add(label);
      add(below, label, us);
    }
  }
  const seconds = (phase.endMicros - phase.startMicros) / 1e6;
  console.log(
    `\n== ${phase.name}: ${seconds.toFixed(1)} s, main thread busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`,
  );
  if (total === 0) continue;
  console.log('-- self time by function');
  for (const line of top(self, total, ROWS)) console.log(line);
  console.log('-- self time by origin');
  for (const line of top(origin, total, 15)) console.log(line);
  console.log('-- time below project functions (synchronous stacks only)');
  for (const line of top(below, total, ROWS)) console.log(line);
}
