// Benchmark: authenticated, authorized REST calls per second (token lookup + IAM decision + project read)
// next to a bare echo route on the same server, and raw token digests per second, in the same run.
// Run: npm exec -- node bench/iam.ts [seconds-per-phase] [concurrency]
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@sealroom/core';
import { resolveServerConfig, startServer } from '@sealroom/server';

const SECONDS = Number(process.argv[2] ?? 4);
const CONCURRENCY = Number(process.argv[3] ?? 16);

const dir = mkdtempSync(join(tmpdir(), 'sealroom-bench-iam-'));
const server = await startServer(
  resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir, dev: true, logLevel: 'silent' }, {}),
  {
    logger: silentLogger,
    services: [
      {
        name: 'kms',
        factory: async () => ({
          name: 'echo',
          routes: [{ method: 'GET', path: '/v1/echo', auth: 'none', handler: async () => ({ ok: true }) }],
        }),
      },
    ],
  },
);
const { deps } = server.iam;
await deps.credentials.ensureUser('bench@example.com', 'dev');
const token = (
  await deps.credentials.issueAccessToken({ kind: 'user', principal: 'user:bench@example.com', lifetimeMs: 3600_000 })
).accessToken;
const project = await deps.projects.create('bench-project', 'bench', 'user:bench@example.com', Date.now());
await deps.policies.update(
  `projects/${project.projectNumber}`,
  () => [{ role: 'roles/owner', members: ['user:bench@example.com'] }],
  Date.now(),
);

async function phase(name: string, url: string, init: RequestInit): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const res = await fetch(url, init);
        await res.arrayBuffer();
        if (res.ok) done += 1;
        else failed += 1;
      }
    }),
  );
  const rate = done / SECONDS;
  console.log(`${name.padEnd(44)} ${rate.toFixed(0).padStart(8)} req/s${failed ? `  (${failed} failed)` : ''}`);
  return rate;
}

console.log(`sealroom iam benchmark — ${SECONDS}s per phase, ${CONCURRENCY} concurrent clients, loopback HTTP/1.1`);
await phase('(warm-up: echo)', `${server.url}/v1/echo`, {});
const echo = await phase('bare echo route (no auth)', `${server.url}/v1/echo`, {});
const get = await phase('GET project (bearer + IAM decision)', `${server.url}/v1/projects/bench-project`, {
  headers: { authorization: `Bearer ${token}` },
});
const test = await phase(
  'testIamPermissions (3 permissions)',
  `${server.url}/v1/projects/bench-project:testIamPermissions`,
  {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      permissions: ['resourcemanager.projects.get', 'pubsub.topics.create', 'cloudkms.cryptoKeyVersions.useToDecrypt'],
    }),
  },
);
const started = performance.now();
let digests = 0;
while (performance.now() - started < 1000) {
  createHash('sha256').update(token).digest('hex');
  digests += 1;
}
console.log(`${'token digests (SHA-256, in process)'.padEnd(44)} ${digests.toFixed(0).padStart(8)} /s`);
console.log(
  `authorized GET reaches ${((get / echo) * 100).toFixed(0)} % of the echo rate; testIamPermissions ${((test / echo) * 100).toFixed(0)} %`,
);
await server.close();
rmSync(dir, { recursive: true, force: true });
