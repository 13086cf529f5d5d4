// The installed CLI (dist/, built by build.mjs at `npm ci`) against the sources: every command maps to a
// lazily imported group, and the bundle answers as the in-process CLI does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from './commands/index.ts';
import { type CommandManifest, commandsOf } from './entry.ts';
import { COMMAND_MODULES } from './lazy-commands.ts';
import { CLI_VERSION, runCli } from './main.ts';

const cliDir = fileURLToPath(new URL('..', import.meta.url));

test('every command of commands/index.ts is in exactly one lazily imported group', async () => {
  const owners = new Map<unknown, string[]>();
  for (const [module, load] of Object.entries(COMMAND_MODULES)) {
    for (const spec of commandsOf(await load())) owners.set(spec, [...(owners.get(spec) ?? []), module]);
  }
  for (const spec of COMMANDS) assert.equal(owners.get(spec)?.length, 1, `sealroom ${spec.path.join(' ')}`);
});

async function inProcess(argv: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Why the bundle cannot be compared here: not built, or older than a source (the bin then runs the sources). */
function bundleMissing(): string | false {
  if (!existsSync(join(cliDir, 'dist', 'inputs.json')))
    return 'dist/ is not built (npm ci builds it; or npm run build -w @sealroom/cli)';
  const { builtAt, files } = JSON.parse(readFileSync(join(cliDir, 'dist', 'inputs.json'), 'utf8')) as {
    builtAt: number;
    files: string[];
  };
  const newer = files.find((file) => statSync(join(cliDir, file)).mtimeMs > builtAt);
  return newer ? `dist/ is older than ${newer}: rebuild with npm run build -w @sealroom/cli` : false;
}

test('the bundle answers as the in-process CLI: version, help, config, usage errors, an unknown group', {
  skip: bundleMissing(),
}, async () => {
  const manifest = JSON.parse(readFileSync(join(cliDir, 'dist', 'commands.json'), 'utf8')) as CommandManifest;
  assert.equal(manifest.version, CLI_VERSION);
  assert.deepEqual(
    manifest.commands.map((c) => c.path.join(' ')),
    COMMANDS.map((c) => c.path.join(' ')),
    'the bundle was built from these sources',
  );
  const home = mkdtempSync(join(tmpdir(), 'sealroom-entry-'));
  try {
    const env = { PATH: process.env.PATH, XDG_CONFIG_HOME: home, SEALROOM_API: 'http://127.0.0.1:9' };
    for (const argv of [
      ['--version'],
      ['kms', '--help'],
      ['config', 'set', 'project', 'p1'],
      ['config', 'list'],
      ['kms', 'keys', 'list'],
      ['kms', 'keys', 'list', '--location=global', '--keyring=k', '--bogus'],
      ['nosuchgroup', '--help'],
    ]) {
      const bundled = spawnSync(join(cliDir, 'bin', 'sealroom'), argv, { env, encoding: 'utf8' });
      const expected = await inProcess(argv, env);
      assert.deepEqual(
        { code: bundled.status, stdout: bundled.stdout, stderr: bundled.stderr },
        expected,
        `sealroom ${argv.join(' ')}`,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/**
 * Node's own modules a short command must not load: storage, crypto, processes, the network, streams and
 * fs's promise API (each a sign that the start pulled in a service, the server or fs's ES namespace), and
 * type stripping (the sources ran, not the bundle).
 */
const NOT_AT_START = [
  'sqlite',
  'crypto',
  'child_process',
  'net',
  'http',
  'http2',
  'tls',
  'zlib',
  'stream',
  'fs/promises',
  'internal/deps/amaro/dist/index',
];

test('--version, config list and a group’s help load none of sqlite, crypto, processes, network or streams', {
  skip: bundleMissing(),
}, () => {
  const home = mkdtempSync(join(tmpdir(), 'sealroom-entry-'));
  try {
    const probe = join(home, 'probe.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, process.moduleLoadList.join('\\n')));\n",
    );
    for (const argv of [['--version'], ['config', 'list'], ['kms', '--help']]) {
      const out = join(home, 'modules.txt');
      const run = spawnSync(process.execPath, ['--require', probe, join(cliDir, 'bin', 'sealroom.js'), ...argv], {
        env: { PATH: process.env.PATH, XDG_CONFIG_HOME: home, PROBE_OUT: out },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      const loaded = new Set(readFileSync(out, 'utf8').split('\n'));
      assert.deepEqual(
        NOT_AT_START.filter((name) => loaded.has(`NativeModule ${name}`)),
        [],
        `sealroom ${argv.join(' ')}`,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
