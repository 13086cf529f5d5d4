// collateral fetch against a local server serving the recorded vectors: what lands in the store is what an
// import of the same files gives, and only allowed hosts are asked.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSnpAuthority, issueSnpCrl } from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { fetchSnpCollateral, fetchTdxCollateral } from './collateral-fetch.ts';
import { importCollateral, loadCollateral } from './collateral-store.ts';
import { VerifierError } from './errors.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const tdx = (name: string) => readFileSync(join(vectors, 'tdx', 'spr-e4-v4', name));
const snp = (name: string) => readFileSync(join(vectors, 'sev-snp', 'virtee-milan', name));
const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 0, 1)));
const crl = issueSnpCrl(authority, [], new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2026, 1, 1)));
const report = snp('report.bin');
const hwid = report.subarray(0x1a0, 0x1e0).toString('hex');

/** Path (with query) → body and headers, as the vendors serve them. */
const routes: Record<string, { body: Buffer; headers?: Record<string, string> }> = {
  '/tdx/certification/v4/tcb?fmspc=50806f000000': {
    body: tdx('sample_tcbInfo_response'),
    headers: { 'TCB-Info-Issuer-Chain': encodeURIComponent(tdx('tcbInfo_issuer_chain.pem').toString()) },
  },
  '/tdx/certification/v4/qe/identity': {
    body: tdx('sample_qeIdentity_response'),
    headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(tdx('qeIdentity_issuer_chain.pem').toString()) },
  },
  '/sgx/certification/v4/pckcrl?ca=platform&encoding=der': {
    body: tdx('pckcrl'),
    headers: { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(tdx('pckcrl_issuer_chain.pem').toString()) },
  },
  '/IntelSGXRootCA.der': { body: tdx('rootcrl.der') },
  '/vcek/v1/Milan/cert_chain': { body: snp('cert_chain_milan.pem') },
  '/vlek/v1/Milan/cert_chain': {
    body: readFileSync(join(vectors, 'sev-snp', 'trustee-milan', 'milan_ask_ark_asvk.pem')),
  },
  '/vcek/v1/Milan/crl': { body: crl },
  [`/vcek/v1/Milan/${hwid}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115`]: { body: snp('vcek_milan.der') },
};

describe('collateral fetch', () => {
  let server: Server;
  let base: string;
  const requested: string[] = [];
  const dirs: string[] = [];
  const store = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-fetch-'));
    dirs.push(dir);
    return dir;
  };
  // Loopback is allowed for this test's server only; the command's own client allows the vendors' hosts.
  const client = createOutboundClient({ policy: { allowLoopback: true } });
  before(async () => {
    server = createServer((req, res) => {
      requested.push(req.url ?? '');
      const route = routes[req.url ?? ''];
      if (route === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, route.headers ?? {}).end(route.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('fetches Intel collateral for the quote’s FMSPC into the store exactly as an import would', async () => {
    const dir = store();
    const options = { client, dir, intelUrl: base, intelCertificatesUrl: base, allowedHosts: ['127.0.0.1'] };
    const fetched = await fetchTdxCollateral(options, { quote: tdx('tdx_prod_quote_SPR_E4.dat') });
    const imported = importCollateral(store(), [
      { name: 'a', bytes: tdx('sample_tcbInfo_response') },
      { name: 'b', bytes: tdx('tcbInfo_issuer_chain.pem') },
      { name: 'c', bytes: tdx('sample_qeIdentity_response') },
      { name: 'd', bytes: tdx('qeIdentity_issuer_chain.pem') },
      { name: 'e', bytes: tdx('pckcrl') },
      { name: 'f', bytes: tdx('pckcrl_issuer_chain.pem') },
      { name: 'g', bytes: tdx('rootcrl.der') },
    ]);
    assert.deepEqual(new Set(fetched.map((f) => f.sha256)), new Set(imported.map((f) => f.sha256)));
    assert.deepEqual(readdirSync(join(dir, 'sha256')).sort(), [...new Set(imported.map((f) => f.sha256))].sort());
    const loaded = loadCollateral(dir);
    assert.equal(loaded.tcbInfos.length, 1);
    assert.equal(loaded.qeIdentities.length, 1);
    assert.equal(loaded.crls.length, 2);
  });

  it('fetches the AMD chains, the CRL and the chip’s VCEK for the report’s reported TCB', async () => {
    const dir = store();
    const fetched = await fetchSnpCollateral(
      { client, dir, amdUrl: base, allowedHosts: ['127.0.0.1'] },
      { report, product: 'Milan' },
    );
    assert.deepEqual(
      fetched.map((f) => f.kind),
      ['certificates', 'certificates', 'crl', 'certificates'],
    );
    assert.ok(requested.includes(`/vcek/v1/Milan/${hwid}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115`));
    assert.ok(loadCollateral(dir).certificates.some((der) => der.equals(snp('vcek_milan.der'))));
  });

  it('asks no host outside the allow-list, and stores nothing when one download fails', async () => {
    const dir = store();
    await assert.rejects(
      fetchTdxCollateral({ client, dir, intelUrl: base }, { fmspc: '50806f000000' }),
      (error) => error instanceof VerifierError && error.code === 'ERR_VERIFIER_COLLATERAL_FETCH',
    );
    await assert.rejects(
      fetchTdxCollateral(
        { client, dir, intelUrl: base, intelCertificatesUrl: base, allowedHosts: ['127.0.0.1'] },
        {
          fmspc: '00906ed50000',
        },
      ),
      (error) => error instanceof VerifierError && /answered 404/.test(error.message),
    );
    assert.throws(() => readdirSync(join(dir, 'sha256')), /ENOENT/);
  });
});
