// Load from `wrk` in its own process: a Lua script for the method, body and headers, figures parsed from its report.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LoadResult {
  /** Successful (2xx/3xx) answers per second. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Non-2xx/3xx answers plus socket errors. */
  readonly failed: number;
  readonly seconds: number;
}

export interface WrkRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface WrkOptions {
  readonly seconds: number;
  readonly connections?: number;
  /** Where the Lua script (and any request file) is written. */
  readonly scratchDir: string;
  /** A file of `PATH<TAB>BODY` lines, sent as POSTs one after the other (each once while they last). */
  readonly requestFile?: string;
}

/** Says in one line that `wrk` is missing and exits 2, when it is (a benchmark without its load generator). */
export function requireWrk(): void {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    console.error('wrk is not installed (Debian/Ubuntu: apt-get install wrk); the HTTP benchmarks need it.');
    process.exit(2);
  }
}

/** `value` as a Lua long string literal. */
export const luaString = (value: string): string => {
  let level = 0;
  while (value.includes(`]${'='.repeat(level)}]`)) level++;
  const eq = '='.repeat(level);
  return `[${eq}[${value}]${eq}]`;
};

function luaScript(request: WrkRequest, requestFile: string | undefined): string {
  const lines = [`wrk.method = "${request.method ?? 'GET'}"`];
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`);
  }
  if (request.body !== undefined) lines.push(`wrk.body = ${luaString(request.body)}`);
  if (requestFile !== undefined) {
    // Each prepared request once, in order; once they are used up the thread stops, so the figures cover
    // only the prepared requests (a repeat would fail where single use is enforced, and cost the server a
    // refusal rather than the work measured).
    // Built in init(): wrk sets the Host header only then.
    lines.push(
      'local prepared = {}',
      'init = function(args)',
      `  for line in io.lines(${luaString(requestFile)}) do`,
      '    local tab = line:find("\\t", 1, true)',
      '    prepared[#prepared + 1] = wrk.format("POST", line:sub(1, tab - 1), nil, line:sub(tab + 1))',
      '  end',
      'end',
      'local cursor = 0',
      'request = function()',
      '  cursor = cursor + 1',
      '  if cursor > #prepared then',
      '    wrk.thread:stop()',
      '    cursor = #prepared',
      '  end',
      '  return prepared[cursor]',
      'end',
    );
  }
  if (process.env.SEALROOM_BENCH_DEBUG) {
    // The first failed answer, to see why a phase fails (costs wrk a body parse per answer, so only on demand).
    lines.push(
      'local shown = false',
      'response = function(status, headers, body)',
      '  if status >= 400 and not shown then shown = true; io.stderr:write(status .. " " .. body .. "\\n") end',
      'end',
    );
  }
  return `${lines.join('\n')}\n`;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  return match ? Number(match[1]) * (UNIT_MS[match[2] as string] ?? Number.NaN) : Number.NaN;
}

/** Parses wrk 4's `--latency` report. */
export function parseWrkReport(output: string): LoadResult {
  const total = /(\d+) requests in ([\d.]+)(ms|s|m),/.exec(output);
  if (!total) throw new Error(`unreadable wrk report:\n${output}`);
  const requests = Number(total[1]);
  const seconds = (Number(total[2]) * (UNIT_MS[total[3] as string] ?? Number.NaN)) / 1000;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  // Read errors on a kept-alive connection are wrk's own count of closes; connect/write/timeout are failures.
  const socketErrors = socket ? Number(socket[1]) + Number(socket[3]) + Number(socket[4]) : 0;
  const failed = non2xx + socketErrors;
  return {
    rps: Math.max(0, requests - non2xx) / seconds,
    p50Ms: durationMs(/^\s+50%\s+(\S+)\s*$/m.exec(output)?.[1]),
    p99Ms: durationMs(/^\s+99%\s+(\S+)\s*$/m.exec(output)?.[1]),
    requests,
    failed,
    seconds,
  };
}

/** Runs `wrk -t1 -c<connections> -d<seconds> --latency` against `baseUrl` with `request`. */
export async function runWrk(baseUrl: string, request: WrkRequest, options: WrkOptions): Promise<LoadResult> {
  return runWrkScript(`${baseUrl}${request.path}`, luaScript(request, options.requestFile), options);
}

/** Runs wrk on `url` with the Lua `script` (written to the scratch directory). */
export async function runWrkScript(url: string, script: string, options: WrkOptions): Promise<LoadResult> {
  const scriptFile = join(options.scratchDir, `wrk-${process.pid}-${Date.now()}.lua`);
  writeFileSync(scriptFile, script);
  const args = [
    '-t1',
    `-c${options.connections ?? 32}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    scriptFile,
    url,
  ];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  // wrk runs on (with a plain GET) after an error in its script: that is a failed phase, not a figure.
  if (code !== 0 || output.includes(scriptFile)) throw new Error(`wrk failed (${code}):\n${output}`);
  if (process.env.SEALROOM_BENCH_DEBUG) console.error(output);
  return parseWrkReport(output);
}
