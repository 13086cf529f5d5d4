// One boot on the sev-snp platform against the real verifier over HTTP: reports come through a configfs-tsm
// imitation whose "firmware" is a fake AMD hierarchy signing over the inblob the launcher wrote, so the whole
// path from the kernel interface to the token is the real one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootSevSnpPlatform, createSnpAuthority, mintSnpReport } from '@sealroom/attest';
import { imitateConfigfsTsm, snpCertTable } from '@sealroom/attest/testing';
import { fixtureInstance, snpTestImage } from '@sealroom/verifier/testing';
import { decodeJwt } from 'jose';
import { TOKEN_FILE_NAME } from './token-refresher.ts';
import { DIGEST, REF, launchAgainstVerifier, startVerifier } from './verifier-test-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: token claims are read as loose JSON in tests
type Json = any;
const MEASUREMENT = Buffer.alloc(48, 0x42);
const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 5, 1)));

describe('a boot on the sev-snp platform attested by the real verifier', () => {
  let f: Awaited<ReturnType<typeof startVerifier>>;
  const dir = mkdtempSync(join(tmpdir(), 'sr-vint-snp-'));
  before(async () => {
    f = await startVerifier({
      amdArkSha256: [createHash('sha256').update(authority.ark).digest('hex')],
      collateralDir: join(dir, 'collateral'),
      images: [snpTestImage('snp-test', MEASUREMENT)],
    });
  });
  after(async () => {
    await f.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the token says AMD_SEV_SNP and carries the launch bound in report_data', async () => {
    const tsm = imitateConfigfsTsm({
      dir: join(dir, 'tsm'),
      provider: 'sev_guest',
      outblob: (inblob) => mintSnpReport(authority, { reportData: inblob, measurement: MEASUREMENT }),
      auxblob: snpCertTable(authority),
    });
    const platform = await bootSevSnpPlatform({
      ca: f.ca,
      instance: fixtureInstance(f.projectNumber),
      nowMs: f.clock.now(),
      tsm: { root: tsm.reportRoot, fs: tsm.fs },
    });
    const { result, custom, launcherDir } = await launchAgainstVerifier(
      f,
      platform,
      join(dir, 'boot'),
      'confidential-space',
    );
    assert.equal(result.error?.message, undefined);
    assert.equal(result.exitCode, 0);
    const claims = decodeJwt(readFileSync(join(launcherDir, TOKEN_FILE_NAME), 'utf8')) as Json;
    assert.equal(claims.hwmodel, 'AMD_SEV_SNP');
    assert.deepEqual(claims.attester_tcb, ['AMD']);
    assert.equal(claims.submods.sev_snp.measurement, MEASUREMENT.toString('hex'));
    assert.equal(claims.submods.container.image_reference, REF);
    assert.equal(claims.submods.container.image_digest, DIGEST);
    assert.deepEqual(claims.submods.container.cmd_override, ['--mode', 'count']);
    assert.equal(claims.submods.gce.instance_name, 'vm1');
    assert.deepEqual(claims.swversion, ['261100']);
    // Every token (default and custom) asked configfs-tsm for a report over its own challenge.
    assert.ok(tsm.inblobs.length >= 2);
    assert.equal(new Set(tsm.inblobs.map((b) => b.toString('hex'))).size, tsm.inblobs.length);
    assert.equal(custom?.status, 200, custom?.text);
    assert.equal((decodeJwt(custom?.text ?? '') as Json).hwmodel, 'AMD_SEV_SNP');
  });
});
