// gcloud's habits: --version, help, did-you-mean, unknown groups as errors, --verbosity, shell completion.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './main.ts';

const home = mkdtempSync(join(tmpdir(), 'sealroom-habits-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { XDG_CONFIG_HOME: home, SEALROOM_API: 'http://127.0.0.1:9' };

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

test('--version names the CLI and its Node.js', async () => {
  const { code, stdout } = await run('--version');
  assert.equal(code, 0);
  assert.match(stdout, /^Sealroom CLI \d+\.\d+\.\d+\nNode\.js 24\./);
});

test('an unknown command group is an error (exit 2), with the nearest choices', async () => {
  const unknown = await run('anything', '--help');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^ERROR: \(sealroom\) Invalid choice: 'anything'\.\nRun `sealroom --help`/);
  const typo = await run('kms', 'kyes', 'list');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^ERROR: \(sealroom\.kms\) Invalid choice: 'kyes'\. Did you mean 'keys'\?/);
  const flag = await run('kms', 'keys', 'list', '--locaton=global');
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unrecognized arguments: --locaton \(did you mean '--location'\?\)\n/);
});

test('help GROUP is GROUP --help; the top level lists groups with one line each', async () => {
  const help = await run('help', 'kms');
  assert.equal(help.code, 0);
  assert.deepEqual(help, await run('kms', '--help'));
  const top = await run('help');
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^ {2}kms {12}\d+ commands: keyrings, keys/m);
  for (const line of top.stdout.split('\n').filter((l) => /^ {2}\S/.test(l))) assert.ok(line.length <= 120, line);
});

test('--verbosity=error hides notes on stderr; a wrong level is a usage error', async () => {
  const noisy = await run('config', 'set', 'project', 'p1');
  assert.match(noisy.stderr, /Updated property \[core\/project\]/);
  const quiet = await run('config', 'set', 'project', 'p2', '--verbosity=error');
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
  const wrong = await run('config', 'list', '--verbosity=loud');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--verbosity: Invalid choice: 'loud'/);
});

test('completion bash completes groups, commands and flags', {
  skip: spawnSync('bash', ['--version']).status === 0 ? false : 'no bash',
}, async () => {
  const { code, stdout } = await run('completion', 'bash');
  assert.equal(code, 0);
  const script = join(home, 'completion.bash');
  writeFileSync(script, stdout);
  const complete = (...words: string[]) =>
    spawnSync(
      'bash',
      [
        '-c',
        `source "$0"; COMP_WORDS=(sealroom "$@"); COMP_CWORD=${words.length}; _sealroom; printf '%s\\n' "\${COMPREPLY[@]}"`,
        script,
        ...words,
      ],
      { encoding: 'utf8' },
    )
      .stdout.trim()
      .split('\n');
  assert.deepEqual(complete('km'), ['kms']);
  assert.ok(complete('kms', 'keys', '').includes('create'));
  assert.deepEqual(complete('kms', 'keys', 'create', 'k1', '--keyr'), ['--keyring']);
  assert.equal((await run('completion', 'fish')).code, 2);
});

test('compute/zone and compute/region are properties; compute/zone is the default --zone', async () => {
  const list = ['compute', 'instances', 'list', '--project=p1'];
  const noZone = await run(...list);
  assert.equal(noZone.code, 2);
  assert.match(noZone.stderr, /sealroom config set compute\/zone ZONE/);
  assert.equal((await run('config', 'set', 'compute/zone', 'us-central1-a')).code, 0);
  assert.equal((await run('config', 'set', 'compute/region', 'us-central1')).code, 0);
  assert.equal((await run('config', 'get-value', 'compute/zone')).stdout, 'us-central1-a\n');
  assert.match((await run('config', 'list')).stdout, /compute:\n {2}zone: us-central1-a\n {2}region: us-central1\n/);
  const withZone = await run(...list);
  assert.doesNotMatch(withZone.stderr, /zone/, 'past the zone: the account (none here) is the next thing missing');
  assert.match(withZone.stderr, /do not currently have an active account/);
  assert.equal((await run('config', 'unset', 'compute/zone')).code, 0);
  assert.equal((await run(...list)).code, 2);
  const typo = await run('config', 'set', 'compute/zon', 'x');
  assert.match(typo.stderr, /Did you mean 'compute\/zone'\?/);
});

test('list commands print an aligned table by default, as gcloud; --format=csv(…) and json still choose', async () => {
  assert.equal((await run('config', 'configurations', 'create', 'second-configuration')).code, 0);
  const table = await run('config', 'configurations', 'list');
  assert.equal(table.code, 0);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0] as string, /^NAME {2,}IS_ACTIVE {2,}ACCOUNT {2,}PROJECT {2,}API$/);
  assert.ok(lines.some((l) => /^second-configuration +true\b/.test(l)));
  // Aligned: the second column starts at the same offset on every line.
  const offsets = lines.map((l) => l.search(/(?<=^\S+ +)\S/));
  assert.equal(new Set(offsets).size, 1, table.stdout);
  const csv = await run('config', 'configurations', 'list', '--format=csv(name,is_active)');
  assert.match(csv.stdout, /^second-configuration,true$/m);
  assert.ok(Array.isArray(JSON.parse((await run('config', 'configurations', 'list', '--format=json')).stdout)));
  const { COMMANDS } = await import('./commands/index.ts');
  // `config list` shows the properties of one configuration, not a list of resources.
  const bare = COMMANDS.filter((c) => c.path.at(-1) === 'list' && c.path.join(' ') !== 'config list');
  assert.deepEqual(
    bare.filter((c) => !c.defaultFormat).map((c) => c.path.join(' ')),
    [],
    'every list command has a table',
  );
});
