// The transparency log end to end on real `sealroom serve` processes and the real CLI: receipts fetched and
// verified offline, witnesses cosigning, and a forked or rolled-back log caught by the witness.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const work = mkdtempSync(join(tmpdir(), 'sealroom-e2e-tlog-'));
const servers: ServerProcess[] = [];
let a: ServerProcess;

const start = async (stateDir?: string) => {
  const server = await startServerProcess(stateDir === undefined ? {} : { stateDir });
  servers.push(server);
  return server;
};

/** Runs the CLI against `server` with the first server's configurations (one person, several deployments). */
async function run(server: ServerProcess, args: string[]) {
  return server.cli(args, { XDG_CONFIG_HOME: a.configDir });
}
async function ok(server: ServerProcess, args: string[]): Promise<string> {
  const result = await run(server, args);
  assert.equal(result.code, 0, `sealroom ${args.join(' ')}\n${result.stderr}`);
  return result.stdout;
}

/** Collaborator work that leaves decisions in the log: a key, its policy, encrypt and decrypt. */
/**
 * The log signs checkpoints on a timer as well as on demand: fetching the newest entry's receipt makes it sign one
 * covering every entry now, so what a witness sees next does not depend on the timer.
 */
async function checkpointEverything(server: ServerProcess): Promise<void> {
  const entries = JSON.parse(await ok(server, ['transparency', 'receipts', 'list', '--format=json'])) as {
    index: number;
  }[];
  await ok(server, [
    'transparency',
    'receipts',
    'get',
    String(entries.at(-1)?.index ?? 0),
    `--output-file=${join(work, 'newest.tlog-proof')}`,
  ]);
}

async function useKey(server: ServerProcess, key: string) {
  const plain = join(work, 'plain.txt');
  const sealed = join(work, `sealed-${key}.bin`);
  writeFileSync(plain, 'a secret the log never sees');
  await ok(server, ['kms', 'keys', 'create', key, '--keyring=kr', '--location=global', '--purpose=encryption']);
  const flags = [`--key=${key}`, '--keyring=kr', '--location=global'];
  // Owning a project never implies using its keys: the collaborator grants itself use, as the tutorial does.
  await ok(server, [
    'kms',
    'keys',
    'add-iam-policy-binding',
    key,
    '--keyring=kr',
    '--location=global',
    '--member=user:alice@collaborator.example',
    '--role=roles/cloudkms.cryptoKeyEncrypterDecrypter',
  ]);
  await ok(server, ['kms', 'encrypt', ...flags, `--plaintext-file=${plain}`, `--ciphertext-file=${sealed}`]);
  await ok(server, ['kms', 'decrypt', ...flags, `--ciphertext-file=${sealed}`, `--plaintext-file=${plain}.out`]);
}

before(async () => {
  a = await start();
  for (const [name, email, project] of [
    ['collaborator', 'alice@collaborator.example', 'collab-project'],
    ['stranger', 'eve@stranger.example', 'stranger-project'],
  ] as const) {
    await ok(a, ['config', 'configurations', 'create', name]);
    await ok(a, ['config', 'configurations', 'activate', name]);
    await ok(a, ['auth', 'login', email]);
    await ok(a, ['projects', 'create', project]);
    await ok(a, ['config', 'set', 'project', project]);
  }
  await ok(a, ['config', 'configurations', 'activate', 'collaborator']);
  await ok(a, ['kms', 'keyrings', 'create', 'kr', '--location=global']);
  await useKey(a, 'key1');
  await ok(a, [
    'kms',
    'keys',
    'add-iam-policy-binding',
    'key1',
    '--keyring=kr',
    '--location=global',
    '--member=user:eve@stranger.example',
    '--role=roles/cloudkms.cryptoKeyEncrypterDecrypter',
  ]);
});

after(async () => {
  for (const server of servers) await server.stop();
  for (const server of servers) server.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test('a collaborator lists its key releases, fetches their receipts and verifies them offline with the log key alone', async () => {
  const listed = JSON.parse(await ok(a, ['transparency', 'receipts', 'list', '--format=json'])) as {
    index: number;
    kind: string;
    method: string;
    principal: string;
    outcome: string;
    facts: Record<string, unknown>;
  }[];
  const kinds = listed.map((r) => `${r.kind} ${r.method.split('.').at(-1)}`);
  assert.ok(kinds.includes('kms.use Encrypt') && kinds.includes('kms.use Decrypt'), kinds.join('\n'));
  assert.ok(kinds.includes('iam.policy SetIamPolicy'), kinds.join('\n'));
  const decrypt = listed.find((r) => r.method.endsWith('.Decrypt'));
  assert.equal(decrypt?.principal, 'user:alice@collaborator.example');
  assert.match(String(decrypt?.facts.cryptoKeyVersion), /cryptoKeys\/key1\/cryptoKeyVersions\/1$/);

  const dir = join(work, 'receipts');
  await ok(a, ['transparency', 'receipts', 'list', `--output-dir=${dir}`]);
  assert.equal(readdirSync(dir).length, listed.length);
  const logKey = (await ok(a, ['transparency', 'log-key'])).trim();
  assert.match(logKey, /^127\.0\.0\.1:\d+\/transparency\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
  // Offline: the verification needs no server (the CLI is pointed at an address nobody listens on).
  const offline = { SEALROOM_API: 'http://127.0.0.1:9' };
  const receipt = join(dir, `${decrypt?.index}.tlog-proof`);
  const verified = await a.cli(['transparency', 'verify', receipt, `--log-key=${logKey}`, '--format=json'], {
    ...offline,
    XDG_CONFIG_HOME: a.configDir,
  });
  assert.equal(verified.code, 0, verified.stderr);
  const result = JSON.parse(verified.stdout) as { verified: boolean; entry: { kind: string; resource: string } };
  assert.equal(result.entry.kind, 'kms.use');
  assert.match(result.entry.resource, /cryptoKeys\/key1/);
  assert.doesNotMatch(readFileSync(receipt, 'utf8'), /a secret the log never sees/);

  // The entry rewritten (the principal changed) no longer verifies, and the error names why.
  const text = readFileSync(receipt, 'utf8');
  const extra = /^extra (\S+)$/m.exec(text)?.[1] ?? '';
  const forged = Buffer.from(extra, 'base64').toString().replace('alice@collaborator.example', 'eve@stranger.example');
  writeFileSync(`${receipt}.forged`, text.replace(extra, Buffer.from(forged).toString('base64')));
  const refused = await a.cli(['transparency', 'verify', `${receipt}.forged`, `--log-key=${logKey}`], offline);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ERR_TRANSPARENCY_INCLUSION_MISMATCH/);
});

test('another party can neither list nor fetch the collaborator’s receipts, and denied looks like missing', async () => {
  const index = (
    JSON.parse(await ok(a, ['transparency', 'receipts', 'list', '--format=json'])) as { index: number }[]
  )[0]?.index;
  const listed = await run(a, [
    'transparency',
    'receipts',
    'list',
    '--project=collab-project',
    '--configuration=stranger',
  ]);
  assert.equal(listed.code, 1);
  assert.match(listed.stderr, /PERMISSION_DENIED.*transparency\.receipts\.list/);
  // Through its own project the stranger asks for the collaborator's entry: the answer is a plain denial.
  const fetched = await run(a, ['transparency', 'receipts', 'get', String(index), '--configuration=stranger']);
  const missing = await run(a, ['transparency', 'receipts', 'get', '999999', '--configuration=stranger']);
  assert.equal(fetched.code, 1);
  assert.equal(fetched.stderr.replace(String(index), 'N'), missing.stderr.replace('999999', 'N'));
});

test('witnesses cosign consistent checkpoints, and a verifier can require k of them', async () => {
  const keys: string[] = [];
  for (const w of ['w1', 'w2', 'w3']) {
    const file = join(work, `${w}.key`);
    keys.push((await ok(a, ['transparency', 'keygen', `witness.example/${w}`, `--output-file=${file}`])).trim());
  }
  const witness = (w: string) =>
    ok(a, ['transparency', 'witness', `--log=${a.url}`, `--key=${join(work, `${w}.key`)}`, '--once']);
  await witness('w1');
  await witness('w2');
  await useKey(a, 'key2');
  // The log signs checkpoints on a timer as well as on demand: fetching the newest entry's receipt makes it
  // sign one covering every entry now, so both witnesses cosign that same checkpoint and not one each.
  await checkpointEverything(a);
  await witness('w1');
  await witness('w2');
  const logKey = (await ok(a, ['transparency', 'log-key'])).trim();
  const checkpoint = await ok(a, ['transparency', 'checkpoint']);
  assert.match(
    checkpoint,
    /\n\n\u2014 127\.0\.0\.1:\d+\/transparency .*\n\u2014 witness\.example\/w1 .*\n\u2014 witness\.example\/w2 /,
  );
  const listed = JSON.parse(await ok(a, ['transparency', 'receipts', 'list', '--format=json'])) as { index: number }[];
  const last = listed.at(-1)?.index ?? 0;
  const size = Number(checkpoint.split('\n')[1]);
  const receipt = join(work, 'cosigned.tlog-proof');
  await ok(a, ['transparency', 'receipts', 'get', String(last), `--tree-size=${size}`, `--output-file=${receipt}`]);
  const witnessFlags = keys.map((k) => `--witness-key=${k}`);
  const two = await ok(a, ['transparency', 'verify', receipt, `--log-key=${logKey}`, ...witnessFlags, '--witnesses=2']);
  assert.match(two, /cosigned by witness\.example\/w1, witness\.example\/w2/);
  const three = await run(a, [
    'transparency',
    'verify',
    receipt,
    `--log-key=${logKey}`,
    ...witnessFlags,
    '--witnesses=3',
  ]);
  assert.equal(three.code, 1);
  assert.match(three.stderr, /ERR_TRANSPARENCY_WITNESS_QUORUM/);
});

test('a log that forks is caught by the witness at its first check of the other branch; a rollback likewise', async () => {
  const w = join(work, 'fork-witness.key');
  await ok(a, ['transparency', 'keygen', 'witness.example/fork', `--output-file=${w}`]);
  await ok(a, ['transparency', 'witness', `--log=${a.url}`, `--key=${w}`, '--once']);
  // The operator copies the deployment's state and serves two histories from one log key.
  await a.stop();
  const copy = join(work, 'forked-state');
  cpSync(a.stateDir, copy, { recursive: true });
  const backup = join(work, 'backup-state');
  cpSync(a.stateDir, backup, { recursive: true });
  const main = await start(a.stateDir);
  const fork = await start(copy);
  await useKey(main, 'main-only');
  await useKey(fork, 'fork-only');
  // Each branch's newest checkpoint covers its own entry (the timer may not have signed one yet).
  await checkpointEverything(main);
  await checkpointEverything(fork);
  await ok(main, ['transparency', 'witness', `--log=${main.url}`, `--key=${w}`, '--once']);
  const caught = await run(fork, ['transparency', 'witness', `--log=${fork.url}`, `--key=${w}`, '--once']);
  assert.equal(caught.code, 1, caught.stdout);
  assert.match(caught.stderr, /ERR_TRANSPARENCY_(INCONSISTENT|SPLIT_VIEW)/);
  assert.match(caught.stderr, /Kept the conflicting checkpoint in /);
  // The same witness, shown the state from before its last cosignature, names a rollback.
  await fork.stop();
  const restored = await start(backup);
  const rolled = await run(restored, ['transparency', 'witness', `--log=${restored.url}`, `--key=${w}`, '--once']);
  assert.equal(rolled.code, 1);
  assert.match(rolled.stderr, /ERR_TRANSPARENCY_ROLLBACK/);
});
