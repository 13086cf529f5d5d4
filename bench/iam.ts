// Benchmark: an authorized IAM GET (a KMS key: bearer token, IAM decision, a read) and testIamPermissions against
// `sealroom serve` in its own process, next to a bare Node hello-world and the same server's /healthz, load from wrk
// (the performance goal for IAM).
// A service account's self-signed JWT (google-auth-library's JWTAccess: one token per hour, no token exchange) is
// measured on the same GET.
// Run: npm exec -- node bench/iam.ts [seconds-per-phase] [connections]
import { createPrivateKey, sign } from 'node:crypto';
import { apiOf } from './lib/api.ts';
import { startRun } from './lib/measure.ts';
import { startHelloWorld, startSealroom } from './lib/processes.ts';
import { setUpKms } from './lib/scenarios.ts';

const run = startRun('iam', 'authorized GET of a KMS key, and testIamPermissions on a project');
const hello = await startHelloWorld();
const server = await startSealroom();
try {
  const api = apiOf(server.url);
  const token = await api.login('bench@example.com');
  await api.createProject(token, 'bench-iam');
  const { key } = await setUpKms(api, token, 'bench-iam', 'user:bench@example.com');
  const bearer = { authorization: `Bearer ${token}` };
  const account = await api.call(token, 'POST', '/v1/projects/bench-iam/serviceAccounts', { accountId: 'bench-jwt' });
  const member = `serviceAccount:${account.email}`;
  await api.grant(token, key, 'roles/cloudkms.viewer', member);
  const made = await api.call(token, 'POST', `/v1/projects/-/serviceAccounts/${account.email}/keys`, {});
  const keyFile = JSON.parse(Buffer.from(made.privateKeyData, 'base64').toString('utf8'));
  const selfSigned = { authorization: `Bearer ${selfSignedJwt(keyFile)}` };
  await run.http('hello-world (bare node:http)', hello, { path: '/' });
  await run.http('GET /healthz', server, { path: '/healthz' });
  await run.http('GET a KMS key (bearer + IAM decision)', server, { path: `/v1/${key}`, headers: bearer });
  await run.http('GET a KMS key (self-signed JWT)', server, { path: `/v1/${key}`, headers: selfSigned });
  await run.http('GET a project (bearer + IAM decision)', server, { path: '/v1/projects/bench-iam', headers: bearer });
  await run.http('testIamPermissions (3 permissions)', server, {
    method: 'POST',
    path: '/v1/projects/bench-iam:testIamPermissions',
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify({
      permissions: ['resourcemanager.projects.get', 'pubsub.topics.create', 'cloudkms.cryptoKeyVersions.useToDecrypt'],
    }),
  });
  run.finish([
    {
      row: 'GET a KMS key (bearer + IAM decision)',
      of: 'GET /healthz',
      atLeast: 1 / 2,
      label: 'IAM GET (key) / healthz',
    },
  ]);
} finally {
  await server.stop();
  await hello.stop();
}

/** A JWT as google-auth-library's JWTAccess makes it from a key file: RS256, `kid`, a KMS service audience. */
function selfSignedJwt(keyFile: { client_email: string; private_key: string; private_key_id: string }): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: keyFile.private_key_id })}.${part({
    iss: keyFile.client_email,
    sub: keyFile.client_email,
    aud: 'https://cloudkms.googleapis.com/',
    iat: now,
    exp: now + 3600,
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(keyFile.private_key)).toString('base64url')}`;
}
