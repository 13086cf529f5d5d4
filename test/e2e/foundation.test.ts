// The foundation end to end: a real `sealroom serve` process, the real CLI, two users, IAM, credentials, audit.
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

let server: ServerProcess;

before(async () => {
  server = await startServerProcess();
});

after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, `graceful shutdown exits 0\n${server.logs()}`);
  server.cleanup();
});

const as = (configuration: string) => ['--configuration', configuration];

async function ok(args: string[]): Promise<string> {
  const result = await server.cli(args);
  assert.equal(result.code, 0, `sealroom ${args.join(' ')}\n${result.stderr}`);
  return result.stdout;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of several Google API shapes, checked field by field.
type Json = Record<string, any>;

async function api(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

test('two users create projects; B can neither read nor change A’s IAM policy; stale etags get 409', async () => {
  for (const [name, email, project] of [
    ['user-a', 'alice@example.com', 'alpha-project'],
    ['user-b', 'bob@example.com', 'bravo-project'],
  ]) {
    await ok(['config', 'configurations', 'create', name as string]);
    await ok(['auth', 'login', email as string, ...as(name as string)]);
    await ok(['projects', 'create', project as string, ...as(name as string)]);
    await ok(['config', 'set', 'project', project as string, ...as(name as string)]);
  }
  const number = (
    await ok(['projects', 'describe', 'alpha-project', '--format=value(projectNumber)', ...as('user-a')])
  ).trim();
  assert.match(number, /^[1-9]\d{11}$/);

  const denied = await server.cli(['projects', 'get-iam-policy', 'alpha-project', ...as('user-b')]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /PERMISSION_DENIED.*resourcemanager\.projects\.getIamPolicy.*\(or it may not exist\)/);
  const change = await server.cli([
    'projects',
    'add-iam-policy-binding',
    'alpha-project',
    '--member=user:bob@example.com',
    '--role=roles/owner',
    ...as('user-b'),
  ]);
  assert.equal(change.code, 1);
  const missing = await server.cli(['projects', 'get-iam-policy', 'no-such-project', ...as('user-b')]);
  assert.equal(
    missing.stderr.replace('no-such-project', 'X'),
    denied.stderr.replace('alpha-project', 'X'),
    'missing and denied look the same',
  );

  const tokenA = (await ok(['auth', 'print-access-token', ...as('user-a')])).trim();
  const first = await api(tokenA, 'POST', '/v1/projects/alpha-project:getIamPolicy', {});
  const add = await api(tokenA, 'POST', '/v1/projects/alpha-project:setIamPolicy', {
    policy: {
      etag: first.json.etag,
      bindings: [...first.json.bindings, { role: 'roles/viewer', members: ['user:carol@example.com'] }],
    },
  });
  assert.equal(add.status, 200);
  const stale = await api(tokenA, 'POST', '/v1/projects/alpha-project:setIamPolicy', {
    policy: { etag: first.json.etag, bindings: first.json.bindings },
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.error.status, 'ABORTED');
  const policy = await ok(['projects', 'get-iam-policy', 'alpha-project', '--format=json', ...as('user-a')]);
  assert.match(policy, /carol@example.com/);
});

test('a service-account token minted by generateAccessToken authenticates as the service account', async () => {
  await ok(['iam', 'service-accounts', 'create', 'worker', ...as('user-a')]);
  const email = 'worker@alpha-project.iam.gserviceaccount.com';
  await ok([
    'iam',
    'service-accounts',
    'add-iam-policy-binding',
    email,
    '--member=user:alice@example.com',
    '--role=roles/iam.serviceAccountTokenCreator',
    ...as('user-a'),
  ]);
  await ok([
    'projects',
    'add-iam-policy-binding',
    'alpha-project',
    `--member=serviceAccount:${email}`,
    '--role=roles/viewer',
    ...as('user-a'),
  ]);
  const tokenA = (await ok(['auth', 'print-access-token', ...as('user-a')])).trim();
  const minted = await api(tokenA, 'POST', `/v1/projects/-/serviceAccounts/${email}:generateAccessToken`, {
    scope: ['https://www.googleapis.com/auth/cloud-platform'],
  });
  assert.equal(minted.status, 200);
  const asSa = await api(minted.json.accessToken, 'GET', '/v1/projects/alpha-project');
  assert.equal(asSa.status, 200);
  assert.equal(asSa.json.projectId, 'alpha-project');
  const notAllowed = await api(minted.json.accessToken, 'GET', '/v1/projects/bravo-project');
  assert.equal(notAllowed.status, 403);
  const forged = await api(`${minted.json.accessToken}x`, 'GET', '/v1/projects/alpha-project');
  assert.equal(forged.status, 401);
});

test('bad input is refused precisely and writes nothing', async () => {
  const tokenA = (await ok(['auth', 'print-access-token', ...as('user-a')])).trim();
  const before = await api(tokenA, 'POST', '/v1/projects/alpha-project:getIamPolicy', {});
  const cases: [string, string, string | undefined, number][] = [
    ['POST', '/v1/projects/alpha-project:setIamPolicy', '{not json', 400],
    [
      'POST',
      '/v1/projects/alpha-project:setIamPolicy',
      JSON.stringify({ policy: { bindings: [{ role: 'roles/fake', members: ['user:x@y.com'] }] } }),
      400,
    ],
    [
      'POST',
      '/v1/projects/alpha-project:setIamPolicy',
      JSON.stringify({ policy: { bindings: [{ role: 'roles/viewer', members: ['x@y.com'] }] } }),
      400,
    ],
    ['POST', '/v1/projects/alpha-project:setIamPolicy', JSON.stringify({ policy: {}, surprise: true }), 400],
    [
      'POST',
      '/v1/projects/alpha-project:setIamPolicy',
      JSON.stringify({ policy: {}, pad: 'x'.repeat(2 * 1024 * 1024) }),
      413,
    ],
    ['POST', '/v1/projects', JSON.stringify({ projectId: 'Bad_Id' }), 400],
  ];
  for (const [method, path, body, status] of cases) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      ...(body ? { body } : {}),
    });
    assert.equal(res.status, status, `${path} ${body?.slice(0, 80)}`);
    const json = (await res.json()) as { error: { code: number; status: string; message: string } };
    assert.equal(json.error.code, status);
  }
  const unauthenticated = await fetch(`${server.url}/v1/projects/alpha-project`);
  assert.equal(unauthenticated.status, 401);
  const afterPolicy = await api(tokenA, 'POST', '/v1/projects/alpha-project:getIamPolicy', {});
  assert.equal(afterPolicy.json.etag, before.json.etag, 'no refused request changed the policy');
});

test('the audit log records who did what, and an edited or removed entry is detected', async () => {
  const log = JSON.parse(await ok(['logging', 'read', '--format=json', ...as('user-a')])) as {
    protoPayload: { methodName: string; authenticationInfo: { principalEmail?: string } };
  }[];
  const methods = log.map((e) => e.protoPayload.methodName);
  assert.ok(methods.includes('google.cloudresourcemanager.v1.Projects.CreateProject'));
  assert.ok(methods.includes('google.iam.credentials.v1.IAMCredentials.GenerateAccessToken'));
  assert.match(await ok(['logging', 'verify', '--format=value(ok)', ...as('user-a')]), /true/);
  const number = (
    await ok(['projects', 'describe', 'alpha-project', '--format=value(projectNumber)', ...as('user-a')])
  ).trim();
  const db = new DatabaseSync(join(server.stateDir, 'sealroom.db'));
  db.exec('PRAGMA busy_timeout = 5000');
  db.prepare(
    "UPDATE log_entries SET payload = replace(payload, 'alice@example.com', 'mallory@example.com') WHERE project_number = ? AND seq = 1",
  ).run(number);
  db.close();
  const tampered = JSON.parse(await ok(['logging', 'verify', '--format=json', ...as('user-a')])) as {
    ok: boolean;
    brokenAt: number;
  };
  assert.deepEqual([tampered.ok, tampered.brokenAt], [false, 1]);
  const bLog = await server.cli(['logging', 'read', '--project', 'alpha-project', ...as('user-b')]);
  assert.equal(bLog.code, 1, 'another user cannot read the audit log');
  assert.equal(server.logs().includes('srr1.'), false, 'no refresh token in the server log');
  assert.equal(server.logs().includes('sr1.'), false, 'no access token in the server log');
});
