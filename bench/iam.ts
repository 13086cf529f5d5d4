// Benchmark: an authorized IAM GET (a KMS key: bearer token, IAM decision, a read) and testIamPermissions against
// `sealroom serve` in its own process, next to a bare Node hello-world and the same server's /healthz, load from wrk
// (the performance goal for IAM).
// Run: npm exec -- node bench/iam.ts [seconds-per-phase] [connections]
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
  await run.http('hello-world (bare node:http)', hello, { path: '/' });
  await run.http('GET /healthz', server, { path: '/healthz' });
  await run.http('GET a KMS key (bearer + IAM decision)', server, { path: `/v1/${key}`, headers: bearer });
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
