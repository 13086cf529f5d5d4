import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createIamTestContext } from '@sealroom/iam/testing';
import { CONFIG_FRAGMENTS, configFromFlags, resolveServerConfig, ServerConfigSchema } from './config.ts';
import { SERVICES } from './services.ts';

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-config-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('each service’s section comes from the file, then its variables, then the flags', () => {
  withDir((dir) => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        port: 9000,
        pubsub: { pullWaitMs: 10, purgeIntervalMs: 5000 },
        verifier: { tokenTtlSeconds: 600 },
      }),
    );
    const fromFile = resolveServerConfig({ stateDir: dir }, {});
    assert.deepEqual(fromFile.pubsub, {
      backend: 'sql',
      emulatorHost: '127.0.0.1',
      pullWaitMs: 10,
      purgeIntervalMs: 5000,
    });
    assert.equal(fromFile.verifier.tokenTtlSeconds, 600);
    assert.equal(fromFile.verifier.challengeTtlSeconds, 900);
    const fromEnv = resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_PULL_WAIT_MS: '20' });
    assert.deepEqual(fromEnv.pubsub, {
      backend: 'sql',
      emulatorHost: '127.0.0.1',
      pullWaitMs: 20,
      purgeIntervalMs: 5000,
    });
    const onNats = resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_BACKEND: 'nats://127.0.0.1:4222' });
    assert.equal(onNats.pubsub.backend, 'nats://127.0.0.1:4222');
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_BACKEND: 'kafka://x' }), {
      code: 'ERR_CONFIG',
    });
    const fromFlags = resolveServerConfig(
      { stateDir: dir, pubsub: { pullWaitMs: 30 } },
      { SEALROOM_PUBSUB_PULL_WAIT_MS: '20' },
    );
    assert.equal(fromFlags.pubsub.pullWaitMs, 30);
    assert.equal(fromFlags.pubsub.purgeIntervalMs, 5000);
  });
});

test('the verifier’s section may come from the file SEALROOM_VERIFIER_CONFIG names, which overrides the configuration file', () => {
  withDir((dir) => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ verifier: { tokenTtlSeconds: 600, challengeTtlSeconds: 60 } }),
    );
    const verifierFile = join(dir, 'verifier.json');
    writeFileSync(verifierFile, JSON.stringify({ tokenTtlSeconds: 1200, devSwversion: '7' }));
    const config = resolveServerConfig({ stateDir: dir }, { SEALROOM_VERIFIER_CONFIG: verifierFile });
    assert.equal(config.verifier.tokenTtlSeconds, 1200);
    assert.equal(config.verifier.challengeTtlSeconds, 60);
    assert.equal(config.verifier.devSwversion, '7');
    writeFileSync(verifierFile, JSON.stringify({ tokenTtlSeconds: 5 }));
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_VERIFIER_CONFIG: verifierFile }), {
      code: 'ERR_CONFIG',
      message: /^Invalid configuration at 'verifier\.tokenTtlSeconds' \(set by SEALROOM_VERIFIER_CONFIG\): /,
    });
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_VERIFIER_CONFG: verifierFile }), {
      code: 'ERR_CONFIG',
      message: 'Unknown setting SEALROOM_VERIFIER_CONFG.',
    });
  });
});

test('a service’s invalid setting is refused at start, named by its path and by the variable that set it', () => {
  withDir((dir) => {
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_PULL_WAIT_MS: '70000' }), {
      code: 'ERR_CONFIG',
      message: /^Invalid configuration at 'pubsub\.pullWaitMs' \(set by SEALROOM_PUBSUB_PULL_WAIT_MS\): /,
    });
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_EMULATR_PORT: '1' }), {
      code: 'ERR_CONFIG',
      message: 'Unknown setting SEALROOM_PUBSUB_EMULATR_PORT.',
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ pubsub: { emulatorPort: 1, colour: 'blue' } }));
    assert.throws(() => resolveServerConfig({ stateDir: dir }, {}), { message: /'pubsub\.colour'/ });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ pubsub: { emulatorPort: 1 } }));
    assert.throws(() => resolveServerConfig({ stateDir: dir }, { SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT: '2' }), {
      code: 'ERR_CONFIG',
      message: /not both/,
    });
  });
});

test('serve’s flags set keys of every fragment, read as the keys’ types', () => {
  assert.deepEqual(
    configFromFlags({
      port: '0',
      dev: true,
      only: 'kms, pubsub',
      'emulator-port': '8085',
      'log-level': 'warn',
      project: 'ignored',
    }),
    { port: 0, dev: true, only: ['kms', 'pubsub'], logLevel: 'warn', pubsub: { emulatorPort: 8085 } },
  );
  assert.throws(() => configFromFlags({ 'grpc-port': 'tls' }), {
    code: 'ERR_CONFIG',
    message: '--grpc-port must be an integer.',
  });
  const stateDir = join(tmpdir(), 'sr-config-no-state');
  const tpm = resolveServerConfig(
    {
      stateDir,
      ...configFromFlags({ platform: 'tpm', tpm: 'tcp://127.0.0.1:2321', 'tpm-ctrl': 'unix:/run/swtpm-ctrl.sock' }),
    },
    {},
  ).compute;
  assert.deepEqual(
    { platform: tpm.platform, tpm: tpm.tpm, tpmCtrl: tpm.tpmCtrl },
    { platform: 'tpm', tpm: 'tcp://127.0.0.1:2321', tpmCtrl: 'unix:/run/swtpm-ctrl.sock' },
  );
  assert.equal(resolveServerConfig({ stateDir }, { SEALROOM_COMPUTE_PLATFORM: 'soft' }).compute.platform, 'soft');
});

test('no two keys of the configuration share a variable or a flag', () => {
  const envs = CONFIG_FRAGMENTS.flatMap((f) => Object.values(f.keys).flatMap((k) => (k.env ? [k.env] : [])));
  const flags = CONFIG_FRAGMENTS.flatMap((f) => Object.values(f.keys).flatMap((k) => (k.flag ? [k.flag] : [])));
  const files = CONFIG_FRAGMENTS.flatMap((f) => (f.fileEnv ? [f.fileEnv] : []));
  assert.equal(new Set([...envs, ...files]).size, envs.length + files.length);
  assert.equal(new Set(flags).size, flags.length);
  assert.ok(envs.every((name) => name.startsWith('SEALROOM_')));
});

test('the server hands the Pub/Sub service its section: an emulator port there is refused outside dev mode', async () => {
  const iam = await createIamTestContext({ dev: false });
  try {
    const pubsub = SERVICES.find((s) => s.name === 'pubsub');
    assert.ok(pubsub);
    const config = ServerConfigSchema.parse({ pubsub: { emulatorPort: 0 } });
    await assert.rejects(pubsub.factory(iam.context, config), {
      code: 'ERR_CONFIG',
      message: /runs only with --dev/,
    });
    const plain = await pubsub.factory(iam.context, ServerConfigSchema.parse({}));
    assert.equal(plain.name, 'pubsub');
  } finally {
    await iam.close();
  }
});
