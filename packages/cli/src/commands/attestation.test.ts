// `sealroom attestation verify` and `sealroom verifier collateral import`, run in-process on the shared vectors.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveSharedDir } from '@sealroom/core';
import { runCli } from '../main.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const snp = (name: string) => join(vectors, 'sev-snp', 'virtee-milan', name);
const tdx = (name: string) => join(vectors, 'tdx', 'spr-e4-v4', name);
const home = mkdtempSync(join(tmpdir(), 'sealroom-cli-attest-'));
after(() => rmSync(home, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: { XDG_CONFIG_HOME: join(home, 'config') },
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe('sealroom attestation verify', () => {
  it('exits 0 and prints the claims for the real Milan report', async () => {
    const r = await run(
      'attestation',
      'verify',
      snp('report.bin'),
      snp('vcek_milan.der'),
      snp('cert_chain_milan.pem'),
      '--at',
      '2026-01-01T00:00:00Z',
      '--format',
      'json',
    );
    assert.equal(r.code, 0, r.err);
    const verdict = JSON.parse(r.out);
    assert.equal(verdict.verdict, 'accept');
    assert.equal(verdict.claims.submods.sev_snp.product_name, 'Milan-B0');
  });

  it('exits 1 with the refusal code for the flipped report, printing the verdict as JSON', async () => {
    const r = await run(
      'attestation',
      'verify',
      snp('report-flipped.bin'),
      snp('vcek_milan.der'),
      snp('cert_chain_milan.pem'),
      '--at',
      '2026-01-01T00:00:00Z',
      '--format',
      'json',
    );
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.out).code, 'ERR_ATTEST_SNP_SIGNATURE');
    assert.match(r.err, /ERR_ATTEST_SNP_SIGNATURE/);
  });

  it('refuses report_data that is not bound to the nonce, and an expired chain', async () => {
    const files = [snp('report.bin'), snp('vcek_milan.der'), snp('cert_chain_milan.pem')];
    const nonce = await run('attestation', 'verify', ...files, '--at', '2026-01-01T00:00:00Z', '--nonce', 'c0ffee');
    assert.equal(nonce.code, 1);
    assert.match(nonce.err, /ERR_ATTEST_REPORT_DATA/);
    const late = await run('attestation', 'verify', ...files, '--at', '2031-01-01T00:00:00Z');
    assert.match(late.err, /ERR_ATTEST_SNP_CHAIN/);
  });

  it('accepts the TDX quote alone and refuses it with the collateral imported into the cache', async () => {
    const alone = await run(
      'attestation',
      'verify',
      tdx('tdx_prod_quote_SPR_E4.dat'),
      '--at',
      '2023-07-01T00:00:00Z',
      '--format',
      'value(claims.hwmodel)',
    );
    assert.equal(alone.code, 0, alone.err);
    assert.equal(alone.out.trim(), 'INTEL_TDX');
    const cache = join(home, 'cache');
    const imported = await run(
      'verifier',
      'collateral',
      'import',
      '--collateral',
      cache,
      '--format',
      'json',
      tdx('sample_tcbInfo_response'),
      tdx('sample_qeIdentity_response'),
      tdx('tcbInfo_issuer_chain.pem'),
      tdx('pckcrl'),
      tdx('rootcrl.der'),
    );
    assert.equal(imported.code, 0, imported.err);
    assert.equal(JSON.parse(imported.out).length, 5);
    assert.equal(readdirSync(join(cache, 'sha256')).length, 5);
    const appraised = await run(
      'attestation',
      'verify',
      tdx('tdx_prod_quote_SPR_E4.dat'),
      '--at',
      '2023-07-01T00:00:00Z',
      '--collateral',
      cache,
    );
    assert.equal(appraised.code, 1);
    assert.match(appraised.err, /ERR_ATTEST_TDX_TCB_UNMATCHED/);
  });

  it('refuses a bad --at or --nonce as a usage error (exit 2)', async () => {
    assert.equal((await run('attestation', 'verify', snp('report.bin'), '--at', 'yesterday')).code, 2);
    assert.equal((await run('attestation', 'verify', snp('report.bin'), '--nonce', 'xyz')).code, 2);
    assert.equal((await run('attestation', 'verify', join(home, 'missing.bin'))).code, 2);
  });
});
