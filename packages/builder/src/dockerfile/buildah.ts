// The build engine: buildah (Debian's package) with chroot isolation, a private storage root per build,
// and no network at all (it runs in its own empty network namespace); its output read as steps and errors.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuilderError } from '../errors.ts';

export type StorageDriver = 'overlay' | 'vfs';

export interface EngineInfo {
  readonly name: 'buildah';
  readonly version: string;
}

export interface EngineStep {
  /** 1-based stage and step, as the engine numbers them (`[2/3] STEP 4/7: …`). */
  readonly stage: number;
  readonly stages: number;
  readonly step: number;
  readonly steps: number;
  readonly text: string;
}

export interface EngineRunOptions {
  /** Private folder for the engine's storage, runroot, home and temporary files. */
  readonly workDir: string;
  readonly contextDir: string;
  readonly dockerfilePath: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly epochSeconds: number;
  readonly storageDriver: StorageDriver;
  /** An OCI layout folder the result is written to, as `result`. */
  readonly outputLayout: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: EngineStep) => void;
  readonly onNote?: (text: string) => void;
}

export interface EngineFailure {
  readonly exitCode: number | null;
  /** The last STEP the engine started, when it had started one. */
  readonly step: EngineStep | undefined;
  /** The engine's `Error: …` line, without the prefix. */
  readonly error: string;
  /** Output lines printed since that STEP began (the failing step's own output), last 40 at most. */
  readonly stepOutput: readonly string[];
  readonly timedOut: boolean;
}

export const BUILDAH = 'buildah';
const RESULT_NAME = 'localhost/sealroom-build:result';
const STEP_LINE = /^(?:\[(\d+)\/(\d+)\] )?STEP (\d+)\/(\d+): (.*)$/;
const NOISE =
  /^(Getting image source signatures|Copying (blob|config) |Writing manifest|Storing signatures|--> |COMMIT|Successfully tagged|[0-9a-f]{64}$)/;

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `buildah --version` → `1.28.2`; a missing engine is ERR_BUILDER_ENGINE with what to install. */
export async function detectEngine(): Promise<EngineInfo> {
  const result = await run(BUILDAH, ['--version'], { PATH: process.env.PATH ?? '/usr/bin:/bin' }).catch(
    () => undefined,
  );
  const version = result?.code === 0 ? /version\s+(\S+)/.exec(result.stdout)?.[1] : undefined;
  if (!version) {
    throw new BuilderError(
      'ERR_BUILDER_ENGINE',
      'Building a Dockerfile needs buildah (Debian package `buildah`), which is not installed or does not run.',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new BuilderError(
      'ERR_BUILDER_ENGINE',
      'Building a Dockerfile runs buildah with chroot isolation in a private network namespace, which needs root.',
    );
  }
  return { name: 'buildah', version };
}

/** The environment buildah sees: its own config files and folders, nothing from the host user. */
function engineEnv(workDir: string, driver: StorageDriver): NodeJS.ProcessEnv {
  const home = join(workDir, 'home');
  const tmp = join(workDir, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const registries = join(workDir, 'registries.conf');
  writeFileSync(registries, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const storage = join(workDir, 'storage.conf');
  writeFileSync(
    storage,
    `[storage]\ndriver = "${driver}"\nrunroot = "${join(workDir, 'runroot')}"\ngraphroot = "${join(workDir, 'root')}"\n`,
  );
  const containers = join(workDir, 'containers.conf');
  writeFileSync(containers, '[engine]\n');
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C',
    BUILDAH_ISOLATION: 'chroot',
    CONTAINERS_REGISTRIES_CONF: registries,
    CONTAINERS_STORAGE_CONF: storage,
    CONTAINERS_CONF: containers,
  };
}

function globalArgs(workDir: string, driver: StorageDriver): string[] {
  return ['--root', join(workDir, 'root'), '--runroot', join(workDir, 'runroot'), '--storage-driver', driver];
}

/** Runs `argv` with umask 022, in a new network namespace (loopback only, down) and a private mount namespace. */
function isolatedArgv(argv: readonly string[]): [string, string[]] {
  return [
    'unshare',
    ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'umask 022 && exec "$@"', 'sh', ...argv],
  ];
}

let probedDriver: Promise<StorageDriver> | undefined;

/** overlay when this host can mount it for buildah (probed once per process), else vfs. */
export function detectStorageDriver(): Promise<StorageDriver> {
  probedDriver ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-probe-'));
    try {
      const env = engineEnv(dir, 'overlay');
      const g = globalArgs(dir, 'overlay');
      const script = `${BUILDAH} ${g.join(' ')} from --name probe scratch >/dev/null && ${BUILDAH} ${g.join(' ')} mount probe >/dev/null`;
      const [file, args] = isolatedArgv(['sh', '-c', script]);
      const result = await run(file, args, env);
      return result.code === 0 ? 'overlay' : 'vfs';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return probedDriver;
}

/** Runs the build and writes the result to `outputLayout`; a failure comes back as data for the caller to explain. */
export async function runEngineBuild(options: EngineRunOptions): Promise<EngineFailure | undefined> {
  const env = engineEnv(options.workDir, options.storageDriver);
  const g = globalArgs(options.workDir, options.storageDriver);
  const buildArgv = [
    BUILDAH,
    ...g,
    'build',
    '--isolation',
    'chroot',
    '--pull=never',
    '--format',
    'docker',
    '--timestamp',
    String(options.epochSeconds),
    '--file',
    options.dockerfilePath,
    ...Object.keys(options.buildArgs)
      .sort()
      .flatMap((k) => ['--build-arg', `${k}=${options.buildArgs[k]}`]),
    ...(options.target === undefined ? [] : ['--target', options.target]),
    '--tag',
    RESULT_NAME,
    options.contextDir,
  ];
  const failure = await streamProcess(buildArgv, env, options);
  if (failure) return failure;
  const pushArgv = [
    BUILDAH,
    ...g,
    'push',
    '--quiet',
    '--format',
    'oci',
    '--disable-compression',
    RESULT_NAME,
    `oci:${options.outputLayout}:result`,
  ];
  return streamProcess(pushArgv, env, options);
}

function streamProcess(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: EngineRunOptions,
): Promise<EngineFailure | undefined> {
  return new Promise((resolve, reject) => {
    const [file, args] = isolatedArgv(argv);
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let step: EngineStep | undefined;
    let stepOutput: string[] = [];
    let error = '';
    let timedOut = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const onLine = (line: string) => {
      const m = STEP_LINE.exec(line);
      if (m) {
        step = {
          stage: Number(m[1] ?? 1),
          stages: Number(m[2] ?? 1),
          step: Number(m[3]),
          steps: Number(m[4]),
          text: m[5] as string,
        };
        stepOutput = [];
        options.onStep?.(step);
        return;
      }
      if (line.startsWith('Error: ')) error = line.slice('Error: '.length);
      else if (/level=warning msg="/.test(line)) options.onNote?.(/msg="(.*)"$/.exec(line)?.[1] ?? line);
      if (NOISE.test(line) || line.trim() === '') return;
      stepOutput.push(line);
      if (stepOutput.length > 40) stepOutput.shift();
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
      stream.on('end', () => {
        if (pending !== '') onLine(pending);
        pending = '';
      });
    }
    child.on('error', (cause) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new BuilderError('ERR_BUILDER_ENGINE', `Could not start ${BUILDAH} in a private namespace.`, { cause }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !timedOut && !options.signal?.aborted) resolve(undefined);
      else resolve({ exitCode: code, step, error, stepOutput, timedOut });
    });
  });
}
