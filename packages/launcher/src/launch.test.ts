// One boot end to end with a fake image source, token source, platform and runtime (and once with a real runtime).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createFakeClock, createMemoryLogger, toBase64Url } from '@sealroom/core';
import { superviseInstance } from './boots.ts';
import type { ImageConfig } from './container-process.ts';
import { LauncherError } from './errors.ts';
import type { PulledImage } from './image-source.ts';
import { type LaunchOptions, runLaunch } from './launch.ts';
import { detectContainerRuntime } from './runtime/detect.ts';
import { addHostBinary, buildTestRootfs, testRootfsProblem } from './runtime/test-rootfs.test-util.ts';
import type { ContainerConfig, ContainerRuntime, RunningContainer } from './runtime/types.ts';
import { createFakeTimers } from './timers.ts';
import { TOKEN_FILE_NAME } from './token-refresher.ts';
import type { TokenSourceContext } from './token-source.ts';

const NO_BACKOFF = { minUptimeMs: 0, baseDelayMs: 0, maxDelayMs: 0 };

const base = mkdtempSync(join(tmpdir(), 'sr-launch-'));
after(() => rmSync(base, { recursive: true, force: true }));
const REF = 'localhost:8080/p/repo/img@sha256:' + 'a'.repeat(64);
let counter = 0;

interface FakeRun {
  readonly config: ContainerConfig;
  readonly signals: string[];
}

/** A runtime that "runs" the workload by writing lines and exiting with a code, or waiting for SIGTERM. */
function fakeRuntime(behaviour: { lines?: string[]; exitCode?: number; waitForTerm?: boolean }): ContainerRuntime & {
  runs: FakeRun[];
} {
  const runs: FakeRun[] = [];
  return {
    kind: 'process',
    runs,
    start: async (config, output): Promise<RunningContainer> => {
      const run: FakeRun = { config, signals: [] };
      runs.push(run);
      let finish!: (code: number) => void;
      const exited = new Promise<{ exitCode: number }>((resolve) => {
        finish = (exitCode) => resolve({ exitCode });
      });
      setImmediate(() => {
        for (const line of behaviour.lines ?? []) output.stdout(Buffer.from(`${line}\n`));
        output.stderr(Buffer.from('partial line without newline'));
        if (!behaviour.waitForTerm) finish(behaviour.exitCode ?? 0);
      });
      return {
        exited,
        signal: async (signal) => {
          run.signals.push(signal);
          if (signal === 'SIGTERM') finish(143);
        },
      };
    },
  };
}

function setup(overrides: {
  metadata?: Record<string, string>;
  labels?: Record<string, string>;
  hardened?: boolean;
  runtime?: ContainerRuntime;
  tokenDown?: boolean;
  config?: ImageConfig;
  configBlob?: Uint8Array;
  rootfs?: string;
}) {
  counter += 1;
  const dir = join(base, `boot-${counter}`);
  const launcherDir = join(dir, 'launcher');
  const clock = createFakeClock(Date.now());
  const measured: Uint8Array[] = [];
  const serial: string[] = [];
  const cloud: { severity: string; message: string }[] = [];
  const pulled: string[] = [];
  const contexts: TokenSourceContext[] = [];
  const image: PulledImage = {
    reference: REF,
    digest: `sha256:${'a'.repeat(64)}`,
    configDigest: `sha256:${'c'.repeat(64)}`,
    config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], Labels: overrides.labels ?? {}, ...overrides.config },
    ...(overrides.configBlob ? { configBlob: overrides.configBlob } : {}),
    rootfs: overrides.rootfs ?? join(dir, 'rootfs'),
  };
  const jwt = () =>
    `e30.${toBase64Url(Buffer.from(JSON.stringify({ exp: Math.floor(clock.now() / 1000) + 3600 })))}.sig`;
  const options: LaunchOptions = {
    metadata: { 'tee-image-reference': REF, ...overrides.metadata },
    hardened: overrides.hardened ?? true,
    instanceName: 'vm1',
    images: {
      pull: async (reference) => {
        pulled.push(reference);
        return image;
      },
    },
    platform: { measureEvent: async (c) => void measured.push(c) },
    tokenSource: (context) => {
      contexts.push(context);
      return {
        fetchDefaultToken: async () => {
          if (overrides.tokenDown) throw new Error('verifier down');
          return jwt();
        },
        fetchCustomToken: async () => jwt(),
      };
    },
    runtime: overrides.runtime ?? fakeRuntime({ lines: ['hello'] }),
    launcherDir,
    workDir: join(dir, 'work'),
    logs: {
      serial: (stream, line) => serial.push(`${stream}: ${line}`),
      cloudLogging: (entry) => cloud.push(entry),
    },
    logger: createMemoryLogger(),
    clock,
    timers: createFakeTimers(clock),
    random: () => 0.5,
  };
  return { options, measured, serial, cloud, pulled, launcherDir, contexts };
}

describe('one boot of the launcher', () => {
  test('Never with exit 0 on hardened: pulled, measured, token written, workload run, exit 0', async () => {
    const runtime = fakeRuntime({ lines: ['hello'], exitCode: 0 });
    const { options, measured, pulled, launcherDir, contexts } = setup({
      runtime,
      metadata: { 'tee-signed-image-repos': 'localhost:8080/p/sigs', 'tee-impersonate-service-accounts': 'a@p.iam' },
    });
    const result = await runLaunch(options);
    assert.equal(contexts.length, 1, 'one token source per boot');
    assert.deepEqual(contexts[0]?.spec.signedImageRepos, ['localhost:8080/p/sigs']);
    assert.deepEqual(contexts[0]?.spec.impersonateServiceAccounts, ['a@p.iam']);
    assert.equal(contexts[0]?.image.digest, `sha256:${'a'.repeat(64)}`);
    assert.equal(result.exitCode, 0, result.error?.message);
    assert.deepEqual(pulled, [REF]);
    assert.ok(measured.length >= 8, 'COS events were measured');
    assert.ok(existsSync(join(launcherDir, TOKEN_FILE_NAME)));
    assert.equal(runtime.runs.length, 1);
    const config = runtime.runs[0]!.config;
    assert.deepEqual(config.args, ['/bin/sh', '-c', 'echo hi']);
    assert.ok(config.env.includes('HOSTNAME=vm1'));
    assert.equal(config.hostname, 'vm1');
    assert.ok(!existsSync(join(launcherDir, 'teeserver.sock')), 'the socket is gone after the boot');
  });

  test('an image with an output policy hands its config blob to the verifier client; one without does not', async () => {
    const blob = Buffer.from('{"config":{}}');
    const labelled = setup({ labels: { 'sealroom.output_policy': '{"min_collaborators":2}' }, configBlob: blob });
    assert.equal((await runLaunch(labelled.options)).exitCode, 0);
    assert.deepEqual(labelled.contexts[0]?.imageConfig, blob);
    const plain = setup({ configBlob: blob });
    assert.equal((await runLaunch(plain.options)).exitCode, 0);
    assert.equal(plain.contexts[0]?.imageConfig, undefined);
  });

  test('an output policy label that does not parse stops the launch before anything is measured', async () => {
    const runtime = fakeRuntime({});
    const { options, measured } = setup({ labels: { 'sealroom.output_policy': '{"min_collaborators":0}' }, runtime });
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 1);
    assert.equal((result.error as LauncherError).code, 'ERR_LAUNCHER_OUTPUT_POLICY_INVALID');
    assert.match(result.error?.message ?? '', /min_collaborators/);
    assert.equal(runtime.runs.length, 0);
    assert.equal(measured.length, 0);
  });

  test('OnFailure with exit 1 on hardened asks for a reboot (3)', async () => {
    const { options } = setup({
      metadata: { 'tee-restart-policy': 'OnFailure' },
      runtime: fakeRuntime({ exitCode: 1 }),
    });
    assert.equal((await runLaunch(options)).exitCode, 3);
  });

  test('a policy refusal never starts the workload: 1 on hardened, 4 on debug', async () => {
    for (const hardened of [true, false]) {
      const runtime = fakeRuntime({});
      const { options, measured } = setup({ metadata: { 'tee-env-FOO': 'x' }, runtime, hardened });
      const result = await runLaunch(options);
      assert.equal(result.exitCode, hardened ? 1 : 4);
      assert.match(result.error?.message ?? '', /FOO/);
      assert.equal(runtime.runs.length, 0);
      assert.equal(measured.length, 0, 'nothing is measured for a refused launch');
    }
  });

  test('a metadata error exits 1 even on debug, before pulling', async () => {
    const { options, pulled } = setup({ metadata: { 'tee-restart-policy': 'never' }, hardened: false });
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 1);
    assert.equal(result.outcome, 'metadata');
    assert.deepEqual(pulled, []);
  });

  test('a first token that fails is fatal: exit 1 under Always, and the workload never starts', async () => {
    const runtime = fakeRuntime({});
    const { options } = setup({ metadata: { 'tee-restart-policy': 'Always' }, runtime, tokenDown: true });
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 1);
    assert.equal(result.phase, 'done');
    assert.match(result.error?.message ?? '', /first attestation token/);
    assert.equal(runtime.runs.length, 0);
  });

  test('log redirect true on debug sends each line to serial and cloud logging; disallowed sends nothing', async () => {
    const allowed = setup({ metadata: { 'tee-container-log-redirect': 'true' }, hardened: false });
    await runLaunch(allowed.options);
    assert.deepEqual(allowed.serial, ['stdout: hello', 'stderr: partial line without newline']);
    assert.deepEqual(allowed.cloud, [
      { severity: 'INFO', message: 'hello' },
      { severity: 'ERROR', message: 'partial line without newline' },
    ]);
    const none = setup({ metadata: {}, hardened: false });
    await runLaunch(none.options);
    assert.deepEqual(none.serial, []);
    assert.deepEqual(none.cloud, []);
  });

  test('a stop request sends SIGTERM to the workload', async () => {
    const runtime = fakeRuntime({ waitForTerm: true });
    const { options } = setup({ runtime });
    const stop = new AbortController();
    const running = runLaunch({ ...options, stop: stop.signal });
    while (runtime.runs.length === 0) await new Promise((r) => setImmediate(r));
    stop.abort();
    const result = await running;
    assert.deepEqual(runtime.runs[0]!.signals, ['SIGTERM']);
    assert.equal(result.workloadExit?.exitCode, 143);
    assert.equal(result.exitCode, 1, 'Never + a non-zero exit is 1 on hardened');
  });

  test('tee-disable-gca-refresh: no token file (not even one from a previous boot), yet the teeserver serves', async () => {
    const runtime = fakeRuntime({ exitCode: 0 });
    const { options, launcherDir } = setup({ runtime, metadata: { 'tee-disable-gca-refresh': 'true' } });
    mkdirSync(launcherDir, { recursive: true });
    writeFileSync(join(launcherDir, TOKEN_FILE_NAME), 'stale.token.from-last-boot');
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 0, result.error?.message);
    assert.ok(!existsSync(join(launcherDir, TOKEN_FILE_NAME)));
    assert.equal(runtime.runs.length, 1);
  });

  test('a stop requested before the workload starts means it never starts', async () => {
    const runtime = fakeRuntime({});
    const { options } = setup({ runtime });
    const stop = new AbortController();
    stop.abort();
    const result = await runLaunch({ ...options, stop: stop.signal });
    assert.equal(runtime.runs.length, 0);
    assert.equal(result.exitCode, 0);
  });

  test('a runtime that cannot start is retryable: reboot under OnFailure', async () => {
    const runtime: ContainerRuntime = {
      kind: 'runc',
      start: async () => {
        throw new LauncherError('ERR_LAUNCHER_RUNTIME_START', 'runc failed');
      },
    };
    const { options } = setup({ metadata: { 'tee-restart-policy': 'OnFailure' }, runtime });
    assert.equal((await runLaunch(options)).exitCode, 3);
  });
});

describe('restart policies across boots', () => {
  test('OnFailure reboots until the workload succeeds; each boot is a fresh launch', async () => {
    const codes = [1, 1, 0];
    const boots: number[] = [];
    const result = await superviseInstance({
      backoff: NO_BACKOFF,
      boot: async (n) => {
        boots.push(n);
        const { options } = setup({
          metadata: { 'tee-restart-policy': 'OnFailure' },
          runtime: fakeRuntime({ exitCode: codes[n - 1] ?? 0 }),
        });
        return (await runLaunch(options)).exitCode;
      },
    });
    assert.deepEqual(boots, [1, 2, 3]);
    assert.deepEqual(result, { exitCode: 0, action: 'poweroff', boots: 3 });
  });

  test('Always keeps rebooting until stopped; debug holds with 4 at once', async () => {
    const stop = new AbortController();
    const always = await superviseInstance({
      stop: stop.signal,
      backoff: NO_BACKOFF,
      boot: async (n) => {
        if (n === 4) stop.abort();
        return 3;
      },
    });
    assert.equal(always.boots, 4);
    const held = await superviseInstance({ boot: async () => 4 });
    assert.deepEqual(held, { exitCode: 4, action: 'hold', boots: 1 });
  });
});

describe('crash-loop backoff between reboots', () => {
  test('quick reboots wait 1 s, 2 s, 4 s …; a boot that ran long resets the delay; stop ends the wait', async () => {
    const clock = createFakeClock(0);
    const timers = createFakeTimers(clock);
    const stop = new AbortController();
    const waits: number[] = [];
    const uptimes = [100, 100, 100, 20_000, 100];
    const done = superviseInstance({
      stop: stop.signal,
      now: () => clock.now(),
      timers,
      onBackoff: (delayMs) => waits.push(delayMs),
      boot: async (n) => {
        clock.advance(uptimes[n - 1] ?? 100);
        if (n === 6) stop.abort();
        return 3;
      },
    });
    for (let i = 0; i < 20 && !stop.signal.aborted; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const due = timers.pending()[0];
      if (due !== undefined) timers.advance(due - clock.now());
    }
    const result = await done;
    assert.equal(result.boots, 6);
    assert.deepEqual(waits, [1000, 2000, 4000, 1000]);
  });
});

describe('one boot with a real container runtime', async () => {
  const detection = await detectContainerRuntime({ candidates: ['runc', 'bwrap'] });
  const skip = testRootfsProblem() ?? (detection.runtime ? undefined : detection.report.join('; '));
  test(`the workload reads its token file through /run/container_launcher (${detection.runtime?.kind ?? 'none'})`, {
    skip,
  }, async () => {
    const rootfs = join(base, 'real-rootfs');
    buildTestRootfs(rootfs);
    const { options, serial, launcherDir } = setup({
      hardened: false,
      rootfs,
      runtime: detection.runtime!,
      metadata: {
        'tee-container-log-redirect': 'serial',
        'tee-cmd': '["echo token=$(cat /run/container_launcher/attestation_verifier_claims_token) host=$HOSTNAME"]',
      },
      labels: { 'tee.launch_policy.allow_cmd_override': 'true' },
      config: { Entrypoint: ['/bin/sh', '-c'], Env: ['PATH=/bin'] },
    });
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 4, result.error?.message);
    assert.equal(result.workloadExit?.exitCode, 0);
    const token = readFileSync(join(launcherDir, TOKEN_FILE_NAME), 'utf8');
    assert.deepEqual(serial, [`stdout: token=${token} host=vm1`]);
  });

  const curlSkip =
    skip ?? (existsSync('/usr/bin/curl') ? undefined : 'no /usr/bin/curl on this host to copy into the rootfs');
  test('the workload gets a custom token through /run/container_launcher/teeserver.sock', {
    skip: curlSkip,
  }, async () => {
    const rootfs = join(base, 'curl-rootfs');
    buildTestRootfs(rootfs);
    addHostBinary(rootfs, '/usr/bin/curl');
    const body = JSON.stringify({
      audience: 'https://collaborator.example',
      nonces: ['0123456789abcdef'],
      token_type: 'OIDC',
    });
    const script = [
      `/usr/bin/curl -s --unix-socket /run/container_launcher/teeserver.sock http://localhost/v1/token -d '${body}'`,
      'echo',
      `/usr/bin/curl -s -o /dev/null -w '%{http_code}' --unix-socket /run/container_launcher/teeserver.sock http://localhost/v1/token -d '{"audience":"a","nonces":["abcd"],"token_type":"OIDC"}'`,
    ].join('; ');
    const { options, serial } = setup({
      hardened: false,
      rootfs,
      runtime: detection.runtime!,
      metadata: { 'tee-container-log-redirect': 'serial', 'tee-cmd': JSON.stringify([script]) },
      labels: { 'tee.launch_policy.allow_cmd_override': 'true' },
      config: { Entrypoint: ['/bin/sh', '-c'], Env: ['PATH=/bin:/usr/bin'] },
    });
    const custom: string[] = [];
    const result = await runLaunch({
      ...options,
      tokenSource: (context) => {
        const inner = options.tokenSource(context);
        return {
          fetchDefaultToken: () => inner.fetchDefaultToken(),
          fetchCustomToken: async (request) => {
            custom.push(JSON.stringify(request));
            return 'custom.jwt.token';
          },
        };
      },
    });
    assert.equal(result.workloadExit?.exitCode, 0, result.error?.message ?? serial.join('\n'));
    assert.deepEqual(serial, ['stdout: custom.jwt.token', 'stdout: 400']);
    assert.deepEqual(custom, [
      JSON.stringify({ audience: 'https://collaborator.example', nonces: ['0123456789abcdef'], tokenType: 'OIDC' }),
    ]);
  });
});

describe('what a boot passes to the runtime and reports about the workload', () => {
  test('allowed capabilities, the cgroup namespace and the memory limit reach the container config', async () => {
    const runtime = fakeRuntime({});
    const { options } = setup({
      runtime,
      metadata: { 'tee-added-capabilities': '["CAP_SYS_ADMIN"]', 'tee-cgroup-ns': 'true' },
      labels: { 'tee.launch_policy.allow_capabilities': 'true', 'tee.launch_policy.allow_cgroups': 'true' },
    });
    const result = await runLaunch({ ...options, memoryLimitBytes: 8 * 1024 ** 3 });
    assert.equal(result.exitCode, 0, result.error?.message);
    const config = runtime.runs[0]?.config;
    assert.deepEqual(config?.addedCapabilities, ['CAP_SYS_ADMIN']);
    assert.equal(config?.cgroupNamespace, true);
    assert.equal(config?.memoryLimitBytes, 8 * 1024 ** 3);
    assert.equal(config?.writableRootfs, false, 'no disk: the image is the read-only root');
  });

  test('an unknown tee-* metadata key refuses the launch (exit 1), naming the key; the workload never runs', async () => {
    const runtime = fakeRuntime({ lines: ['hello'] });
    const { options, pulled } = setup({ metadata: { 'tee-some-future-key': 'x' }, runtime });
    const result = await runLaunch(options);
    assert.equal(result.exitCode, 1);
    assert.equal((result.error as LauncherError).code, 'ERR_LAUNCHER_METADATA_INVALID');
    assert.match(result.error?.message ?? '', /unknown metadata key tee-some-future-key/);
    assert.equal(runtime.runs.length, 0);
    assert.equal(pulled.length, 0, 'refused before the pull');
  });

  test('a hardened image logs a non-zero return code without its value; a debug image keeps it', async () => {
    for (const hardened of [true, false]) {
      const { options } = setup({ runtime: fakeRuntime({ exitCode: 42 }), hardened });
      const logger = createMemoryLogger();
      await runLaunch({ ...options, logger });
      const line = logger.entries.find((e) => e.message === 'workload finished with a non-zero return code');
      assert.ok(line);
      assert.deepEqual(line.fields, hardened ? {} : { exitCode: 42 });
      // The value as a value or as a word anywhere in the log; not digits inside a path or a temporary name
      // (the boot counter reaches boot-42, mkdtemp's suffix may hold "42").
      const names42 = (value: unknown): boolean =>
        value === 42 ||
        (typeof value === 'string' && /(^|[\s:=(,])42($|[\s,;)])/.test(value)) ||
        (typeof value === 'object' && value !== null && Object.values(value).some(names42));
      assert.equal(
        logger.entries.some((e) => names42(e.message) || names42(e.fields)),
        !hardened,
      );
    }
  });
});
