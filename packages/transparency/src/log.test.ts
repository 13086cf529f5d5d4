import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type SqlDatabase, createSealer, openSqliteDatabase, silentLogger, systemClock } from '@sealroom/core';
import { createCosigner } from './cosignature.ts';
import type { Decision } from './entry.ts';
import { TransparencyError } from './errors.ts';
import { type TransparencyLog, openTransparencyLog } from './log.ts';
import { generateNoteKey, parseVerifierKey } from './note.ts';
import { parseReceipt, verifyReceipt } from './receipt.ts';
import { openSqlTransparencyStore } from './store.ts';
import { type WitnessState, witnessCheckpoint } from './witness.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const sealer = createSealer(randomBytes(32));
const code = (c: string) => (e: unknown) => e instanceof TransparencyError && e.code === c;

async function open(path = ':memory:'): Promise<{ db: SqlDatabase; log: TransparencyLog }> {
  const db = openSqliteDatabase({ path });
  const log = await openTransparencyLog({
    store: await openSqlTransparencyStore(db),
    sealer,
    clock: systemClock,
    logger: silentLogger,
    origin: 'sealroom.test/transparency',
  });
  return { db, log };
}

const decision = (project: string, n: number): Decision => ({
  kind: 'kms.use',
  project,
  method: 'google.cloud.kms.v1.KeyManagementService.Decrypt',
  resource: `projects/${project}/locations/global/keyRings/kr/cryptoKeys/k${n}`,
  principal: 'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s',
  outcome: 'ALLOWED',
  facts: { cryptoKeyVersion: `v${n}` },
});

test('concurrent appends get consecutive indexes, and each receipt verifies offline against the log key alone', async () => {
  const { db, log } = await open();
  const indexes = await Promise.all(
    Array.from({ length: 50 }, (_, n) => log.append(decision(n % 2 ? '111' : '222', n))),
  );
  assert.deepEqual(
    [...indexes].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, n) => n),
  );
  for (const index of [0, 7, 31, 49]) {
    const receipt = await log.receipt(index);
    const verified = verifyReceipt(receipt, { logKey: log.verifierKey });
    assert.equal(verified.index, index);
    assert.equal(verified.entry.kind, 'kms.use');
    assert.equal(verified.checkpoint.origin, 'sealroom.test/transparency');
    assert.ok(verified.checkpoint.size > index);
  }
  // Another log's key (same origin name) does not verify them.
  const impostor = generateNoteKey('sealroom.test/transparency');
  const receipt = await log.receipt(3);
  assert.throws(
    () => verifyReceipt(receipt, { logKey: impostor.verifierKey }),
    code('ERR_TRANSPARENCY_SIGNATURE_INVALID'),
  );
  await log.stop();
  await db.close();
});

test('a receipt for a later checkpoint verifies against exactly that checkpoint', async () => {
  const { db, log } = await open();
  const first = await log.append(decision('111', 1));
  const early = await log.checkpointCovering(first + 1);
  for (let n = 0; n < 9; n++) await log.append(decision('111', n));
  const late = await log.checkpointCovering(log.size());
  const receipt = await log.receipt(first, late.size);
  assert.equal(verifyReceipt(receipt, { logKey: log.verifierKey }).checkpoint.size, late.size);
  assert.notEqual(early.size, late.size);
  await assert.rejects(log.receipt(first, late.size + 5), code('ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN'));
  await log.stop();
  await db.close();
});

test('an entry altered in storage fails its receipt offline, and the reopened log refuses to sign or serve', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const { db, log } = await open(join(dir, 'db.sqlite'));
  for (let n = 0; n < 6; n++) await log.append(decision('111', n));
  await log.checkpointCovering(6);
  const leaf = (await log.leaf(2))?.leaf ?? Buffer.alloc(0);
  await db.run('UPDATE tlog_leaves SET leaf = ? WHERE leaf_index = 2', [
    Buffer.from(leaf.toString().replace('k2', 'k9')),
  ]);
  const receipt = await log.receipt(2);
  assert.throws(() => verifyReceipt(receipt, { logKey: log.verifierKey }), code('ERR_TRANSPARENCY_INCLUSION_MISMATCH'));
  await log.stop();
  await db.close();
  const reopened = await open(join(dir, 'db.sqlite'));
  await assert.rejects(reopened.log.receipt(0), code('ERR_TRANSPARENCY_LOG_CORRUPT'));
  await assert.rejects(reopened.log.append(decision('111', 7)), code('ERR_TRANSPARENCY_LOG_CORRUPT'));
  assert.throws(() => reopened.log.prepareAppend(decision('111', 8)), code('ERR_TRANSPARENCY_LOG_CORRUPT'));
  await reopened.log.stop();
  await reopened.db.close();
});

test('two entries swapped in storage (a reordered log) fail their receipts and the reopened log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const { db, log } = await open(join(dir, 'db.sqlite'));
  for (let n = 0; n < 5; n++) await log.append(decision('111', n));
  await log.checkpointCovering(5);
  const a = (await log.leaf(1))?.leaf;
  const b = (await log.leaf(3))?.leaf;
  await db.run('UPDATE tlog_leaves SET leaf = ? WHERE leaf_index = 1', [b ?? null]);
  await db.run('UPDATE tlog_leaves SET leaf = ? WHERE leaf_index = 3', [a ?? null]);
  const receipt = await log.receipt(3);
  assert.throws(() => verifyReceipt(receipt, { logKey: log.verifierKey }), code('ERR_TRANSPARENCY_INCLUSION_MISMATCH'));
  await log.stop();
  await db.close();
  const reopened = await open(join(dir, 'db.sqlite'));
  await assert.rejects(reopened.log.checkStorage(), code('ERR_TRANSPARENCY_LOG_CORRUPT'));
  await reopened.log.stop();
  await reopened.db.close();
});

test('witnesses cosign consistent checkpoints; a verifier requiring k cosignatures counts only trusted ones', async () => {
  const { db, log } = await open();
  const logKey = parseVerifierKey(log.verifierKey);
  const witnesses = ['w1', 'w2', 'w3'].map((w) => createCosigner(generateNoteKey(`witness.test/${w}`)));
  const states = new Map<string, WitnessState>();
  const round = async () => {
    const checkpoint = await log.checkpointCovering(log.size());
    for (const w of witnesses.slice(0, 2)) {
      const previous = states.get(w.name);
      const proof = previous ? await log.consistencyProof(previous.size, checkpoint.size) : [];
      const step = witnessCheckpoint({ note: checkpoint.note, logKey, previous, proof, cosigner: w });
      await log.addCosignature(checkpoint.size, w.name, w.keyId, step.cosignature);
      states.set(w.name, step.state);
    }
  };
  for (let n = 0; n < 3; n++) await log.append(decision('111', n));
  await round();
  for (let n = 0; n < 4; n++) await log.append(decision('111', n));
  await round();
  const receipt = await log.receipt(5);
  assert.match(parseReceipt(receipt).checkpointNote, /witness\.test\/w1 .*\n.*witness\.test\/w2 /);
  const keys = witnesses.map((w) => w.verifierKey);
  const ok = verifyReceipt(receipt, { logKey: log.verifierKey, witnessKeys: keys, witnessQuorum: 2 });
  assert.deepEqual(ok.witnesses, ['witness.test/w1', 'witness.test/w2']);
  assert.throws(
    () => verifyReceipt(receipt, { logKey: log.verifierKey, witnessKeys: keys, witnessQuorum: 3 }),
    code('ERR_TRANSPARENCY_WITNESS_QUORUM'),
  );
  assert.throws(
    () => verifyReceipt(receipt, { logKey: log.verifierKey, witnessKeys: [keys[2] as string], witnessQuorum: 1 }),
    code('ERR_TRANSPARENCY_WITNESS_QUORUM'),
  );
  await log.stop();
  await db.close();
});

test('a forked log (two copies that diverge) is caught by the first consistency check between their checkpoints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const a = await open(join(dir, 'a.sqlite'));
  for (let n = 0; n < 4; n++) await a.log.append(decision('111', n));
  await a.log.checkpointCovering(4);
  await a.log.stop();
  await a.db.close();
  copyFileSync(join(dir, 'a.sqlite'), join(dir, 'b.sqlite'));
  const forkA = await open(join(dir, 'a.sqlite'));
  const forkB = await open(join(dir, 'b.sqlite'));
  assert.equal(forkA.log.verifierKey, forkB.log.verifierKey, 'one log key, two histories');
  // Party A is shown one history, party B another, from entry 4 on.
  for (let n = 0; n < 3; n++) await forkA.log.append(decision('111', 100 + n));
  for (let n = 0; n < 5; n++) await forkB.log.append(decision('222', 200 + n));
  const logKey = parseVerifierKey(forkA.log.verifierKey);
  const witness = createCosigner(generateNoteKey('witness.test/w'));
  const seenA = await forkA.log.checkpointCovering(7);
  const stepA = witnessCheckpoint({ note: seenA.note, logKey, previous: undefined, proof: [], cosigner: witness });
  const shownB = await forkB.log.checkpointCovering(9);
  const proofB = await forkB.log.consistencyProof(stepA.state.size, 9);
  assert.throws(
    () => witnessCheckpoint({ note: shownB.note, logKey, previous: stepA.state, proof: proofB, cosigner: witness }),
    code('ERR_TRANSPARENCY_INCONSISTENT'),
  );
  // The same size with another root is named a split view outright.
  for (let n = 0; n < 2; n++) await forkA.log.append(decision('111', 300 + n));
  const sameSize = await forkA.log.checkpointCovering(9);
  const atB = witnessCheckpoint({ note: shownB.note, logKey, previous: undefined, proof: [], cosigner: witness });
  assert.throws(
    () => witnessCheckpoint({ note: sameSize.note, logKey, previous: atB.state, proof: [], cosigner: witness }),
    code('ERR_TRANSPARENCY_SPLIT_VIEW'),
  );
  for (const f of [forkA, forkB]) {
    await f.log.stop();
    await f.db.close();
  }
});

test('a log restored from an older copy (rolled back) is caught by a witness that saw the newer tree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const first = await open(join(dir, 'db.sqlite'));
  for (let n = 0; n < 3; n++) await first.log.append(decision('111', n));
  await first.log.checkpointCovering(3);
  await first.log.stop();
  await first.db.close();
  copyFileSync(join(dir, 'db.sqlite'), join(dir, 'backup.sqlite'));
  const live = await open(join(dir, 'db.sqlite'));
  for (let n = 0; n < 3; n++) await live.log.append(decision('111', 10 + n));
  const logKey = parseVerifierKey(live.log.verifierKey);
  const witness = createCosigner(generateNoteKey('witness.test/w'));
  const seen = witnessCheckpoint({
    note: (await live.log.checkpointCovering(6)).note,
    logKey,
    previous: undefined,
    proof: [],
    cosigner: witness,
  });
  await live.log.stop();
  await live.db.close();
  const restored = await open(join(dir, 'backup.sqlite'));
  const shown = await restored.log.checkpointCovering(3);
  assert.throws(
    () => witnessCheckpoint({ note: shown.note, logKey, previous: seen.state, proof: [], cosigner: witness }),
    code('ERR_TRANSPARENCY_ROLLBACK'),
  );
  await restored.log.stop();
  await restored.db.close();
});

test('two replicas on one database interleave appends, and each serves receipts that verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const one = await open(join(dir, 'shared.sqlite'));
  const two = await open(join(dir, 'shared.sqlite'));
  const indexes: number[] = [];
  for (let n = 0; n < 6; n++) {
    indexes.push(await one.log.append(decision('111', n)));
    indexes.push(await two.log.append(decision('222', n)));
  }
  assert.deepEqual(
    indexes,
    Array.from({ length: 12 }, (_, n) => n),
  );
  for (const [log, index] of [
    [one.log, 11],
    [two.log, 0],
    [one.log, 4],
  ] as const) {
    assert.equal(verifyReceipt(await log.receipt(index), { logKey: one.log.verifierKey }).index, index);
  }
  for (const r of [one, two]) {
    await r.log.stop();
    await r.db.close();
  }
});

test('receipts and consistency proofs over a few thousand entries are byte-identical after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tlog-'));
  dirs.push(dir);
  const path = join(dir, 'db.sqlite');
  const first = await open(path);
  const sizes: number[] = [];
  for (let batch = 0; batch < 12; batch++) {
    await Promise.all(Array.from({ length: 250 }, (_, n) => first.log.append(decision('111', batch * 250 + n))));
    sizes.push((await first.log.checkpointCovering(first.log.size())).size);
  }
  const total = first.log.size();
  assert.equal(total, 3000);
  const indexes = [0, 1, 255, 256, 257, 1234, 2047, 2048, 2999];
  const proofs = async (log: TransparencyLog) => {
    const out: string[] = [];
    for (const index of indexes) {
      out.push(await log.receipt(index));
      out.push(await log.receipt(index, total));
    }
    for (const size of sizes) out.push((await log.consistencyProof(size, total)).map((h) => h.toString('hex')).join());
    return out;
  };
  const before = await proofs(first.log);
  for (const receipt of before.slice(0, indexes.length * 2)) verifyReceipt(receipt, { logKey: first.log.verifierKey });
  await first.log.stop();
  await first.db.close();
  const second = await open(path);
  assert.equal(second.log.size(), total);
  assert.deepEqual(await proofs(second.log), before);
  await second.log.stop();
  await second.db.close();
});
