// Benchmark: transparency log appends per second (group-committed to SQLite), the audit hot path with and
// without the log's sink, inclusion/consistency proofs and full receipts per second, next to raw SHA-256
// and Ed25519 signing rates measured in the same run.
// Run: npm exec -- node bench/transparency.ts [seconds-per-phase] [concurrency] [tree-size]
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditRecord, createSealer, openSqliteDatabase, silentLogger, systemClock } from '@sealroom/core';
import { AUDIT_LOG_ID, AUDIT_MIGRATIONS, type AuditSink, createProjectLog } from '@sealroom/iam';
import {
  type Decision,
  openSqlTransparencyStore,
  openTransparencyLog,
  toLeaf,
  transparencyAuditSink,
} from '@sealroom/transparency';

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 64);
const TREE_SIZE = Number(process.argv[4] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'sealroom-bench-tlog-'));
const sealer = createSealer(randomBytes(32));

const decision = (n: number): Decision => ({
  kind: 'kms.use',
  project: '123456789012',
  method: 'google.cloud.kms.v1.KeyManagementService.Decrypt',
  resource: 'projects/collaborator-1/locations/global/keyRings/kr1/cryptoKeys/key1',
  principal:
    'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/trusted-workload-pool/subject/https://www.googleapis.com/compute/v1/projects/operator/zones/us-central1-a/instances/vm1',
  outcome: 'ALLOWED',
  facts: {
    cryptoKeyVersion: `projects/collaborator-1/locations/global/keyRings/kr1/cryptoKeys/key1/cryptoKeyVersions/${n % 3}`,
  },
});

/** Runs `op` from `concurrency` loops for SECONDS; returns operations per second. */
async function rate(concurrency: number, op: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await op(done);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const rows: [string, number, string][] = [];
const report = (name: string, perSecond: number, note = '') => {
  rows.push([name, perSecond, note]);
  console.error(`${name}: ${Math.round(perSecond)}/s ${note}`);
};

// The machine's limits in this run.
const leafBytes = toLeaf(decision(0), Date.now());
report(
  'limit: SHA-256 of a leaf',
  await rate(1, () => createHash('sha256').update(leafBytes).digest()),
  `${leafBytes.length} B`,
);
const node = randomBytes(65);
report('limit: SHA-256 of a node', await rate(1, () => createHash('sha256').update(node).digest()), '65 B');
const { privateKey } = generateKeyPairSync('ed25519');
const checkpointText = Buffer.from(`127.0.0.1:8080/transparency\n1000000\n${randomBytes(32).toString('base64')}\n`);
report('limit: Ed25519 signatures', await rate(1, () => sign(null, checkpointText, privateKey)), 'checkpoint text');

// Appends: many concurrent callers, group-committed, durable in SQLite (WAL) before each resolves.
const db = openSqliteDatabase({ path: join(dir, 'tlog.sqlite') });
const log = await openTransparencyLog({
  store: await openSqlTransparencyStore(db),
  sealer,
  clock: systemClock,
  logger: silentLogger,
  origin: 'bench.example/transparency',
});
report('log appends (durable)', await rate(CONCURRENCY, (i) => log.append(decision(i))), `${CONCURRENCY} concurrent`);

// The audit hot path: what a KMS decrypt waits for, without and with the transparency sink.
const auditLogOn = async (db: ReturnType<typeof openSqliteDatabase>, sink?: AuditSink) => {
  await db.migrate('logging', AUDIT_MIGRATIONS);
  const projects = { resolve: async () => ({ projectId: 'p', projectNumber: '123456789012' }) };
  return createProjectLog({ db, sealer, clock: systemClock, projects, ...(sink ? { sink } : {}) });
};
const record: AuditRecord = {
  project: 'p',
  method: 'google.cloud.kms.v1.KeyManagementService.Decrypt',
  resource: 'projects/p/locations/global/keyRings/kr1/cryptoKeys/key1',
  caller: { kind: 'user', principal: 'user:bench@example.com', credentialId: 'c', expiresAt: 0 },
  outcome: 'ALLOWED',
  details: { cryptoKeyVersion: 'projects/p/locations/global/keyRings/kr1/cryptoKeys/key1/cryptoKeyVersions/1' },
};
const plainAudit = await auditLogOn(openSqliteDatabase({ path: join(dir, 'audit-a.sqlite') }));
const plain = await rate(CONCURRENCY, () => plainAudit.record(record));
report('audit records, no transparency', plain, `${CONCURRENCY} concurrent (${AUDIT_LOG_ID})`);
const auditDb = openSqliteDatabase({ path: join(dir, 'audit-b.sqlite') });
const sinkLog = await openTransparencyLog({
  store: await openSqlTransparencyStore(auditDb),
  sealer,
  clock: systemClock,
  logger: silentLogger,
  origin: 'bench.example/transparency',
});
const mirroredAudit = await auditLogOn(auditDb, transparencyAuditSink(sinkLog));
const mirrored = await rate(CONCURRENCY, () => mirroredAudit.record(record));
report('audit records + transparency leaf', mirrored, `${((1 - mirrored / plain) * 100).toFixed(1)} % slower`);

// Proofs on a large tree.
const before = log.size();
const fill = Math.max(0, TREE_SIZE - before);
for (let done = 0; done < fill; done += 5000) {
  await Promise.all(Array.from({ length: Math.min(5000, fill - done) }, (_, i) => log.append(decision(i))));
}
const size = log.size();
const checkpoint = await log.checkpointCovering(size);
const pick = () => Math.floor(Math.random() * size);
const { createMemoryTree, hashLeaf } = await import('@sealroom/transparency');
const tree = createMemoryTree();
for (let i = 0; i < size; i++) tree.append(hashLeaf(Buffer.from(String(i))));
report('inclusion proofs', await rate(1, () => tree.inclusionProof(pick(), size)), `tree of ${size}`);
report('consistency proofs', await rate(1, () => tree.consistencyProof(1 + pick(), size)), `tree of ${size}`);
report(
  'receipts (leaf read + proof + note)',
  await rate(8, () => log.receipt(pick(), checkpoint.size)),
  `tree of ${size}, 8 concurrent`,
);

console.log('\n| phase | per second | note |\n| --- | ---: | --- |');
for (const [name, perSecond, note] of rows) console.log(`| ${name} | ${Math.round(perSecond)} | ${note} |`);
await log.stop();
await sinkLog.stop();
await db.close();
await auditDb.close();
rmSync(dir, { recursive: true, force: true });
