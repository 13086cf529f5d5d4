// The installed CLI (dist/, built by build.mjs at `npm ci`) against the sources: every command maps to a
// lazily imported group, and the bundle answers as the in-process CLI does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
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
