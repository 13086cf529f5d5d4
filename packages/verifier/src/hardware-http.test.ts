// Hardware evidence over HTTP: SEV-SNP and TDX reports beside a vTPM (GCP_* hwmodels) or bare (AMD_SEV_SNP,
// INTEL_TDX), appraised against the deployment's collateral store at the verifier's clock, with tamper cases.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CEL_TYPE,
  COS_CCMR,
  COS_TYPE,
  SNP_CERT_GUID,
  TPM_ALG,
  createInstanceIdentity,
  createSnpAuthority,
  decodeCel,
  encodeCosContent,
  encodeSnpCertTable,
  mintSnpReport,
  replayCel,
  reportDataFor,
  splitPemCertificates,
} from '@sealroom/attest';
import { resolveSharedDir, toBase64, toSevSnpAttestationJson, toTdCcelJson } from '@sealroom/core';
import { decodeJwt } from 'jose';
import { importCollateral } from './collateral-store.ts';
import { IMAGE_DIGEST, createFixture, fixtureInstance, snpTestImage } from './test-fixture.ts';
import { snpCertTable } from '@sealroom/attest/testing';
import type { Fixture, Json } from './test-fixture.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const dirs: string[] = [];
const fixtures: Fixture[] = [];
after(async () => {
  for (const f of fixtures) await f.t.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const MEASUREMENT = Buffer.alloc(48, 0x5a);

async function fixtureWith(config: Parameters<typeof createFixture>[0] = {}, startMs?: number) {
  const collateralDir = mkdtempSync(join(tmpdir(), 'sealroom-collateral-'));
  dirs.push(collateralDir);
  const f = await createFixture({ collateralDir, ...config }, startMs === undefined ? {} : { startMs });
  fixtures.push(f);
  return { f, collateralDir };
}

async function bodyFor(f: Fixture, challenge: string, extra: Record<string, unknown>) {
  return {
    challenge,
    gcpCredentials: { serviceAccountIdTokens: [await f.signSaToken(challenge)] },
    ...extra,
  };
}

/** A vTPM (the soft platform) with a SEV-SNP report whose report_data binds its AK, as GCE's shape. */
async function vtpmWithSnp(f: Fixture, mint: (reportData: Buffer) => Buffer, auxBlob: Buffer) {
  const platform = await f.boot();
  const challenge = await f.createChallenge();
  const nonce = Buffer.from(challenge.tpmNonce, 'base64');
  const tpm = (await platform.attest(nonce)).tpm;
  const akSpki = platform.tpm.akPublicKey.export({ type: 'spki', format: 'der' });
  const report = mint(reportDataFor({ nonce, boundKey: akSpki }));
  const body = await f.body(tpm, challenge.name, {
    sevSnpAttestation: toSevSnpAttestationJson({ report, auxBlob }),
  });
  return f.verify(challenge.name, body);
}

describe('SEV-SNP beside a vTPM over HTTP', () => {
  it('issues a GCP_AMD_SEV token with the sev_snp submods when the report binds the AK', async () => {
    const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 5, 1)));
    const { f: g } = await fixtureWith({ amdArkSha256: [sha256(authority.ark)] });
    const table = snpCertTable(authority);
    const res = await vtpmWithSnp(g, (reportData) => mintSnpReport(authority, { reportData }), table);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const claims = decodeJwt(res.json.attestationToken) as Json;
    assert.equal(claims.hwmodel, 'GCP_AMD_SEV');
    assert.deepEqual(claims.attester_tcb, ['AMD']);
    assert.equal(claims.submods.sev_snp.measurement, Buffer.alloc(48, 0x11).toString('hex'));
    assert.equal(claims.submods.sev_snp.ark_sha256, sha256(authority.ark));
    assert.equal(claims.submods.gce.instance_name, 'vm1');
    assert.equal(claims.submods.container.image_digest, IMAGE_DIGEST);
  });

  it('refuses a tampered report, another nonce, an unpinned root and a debug guest, each with its code', async () => {
    const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 5, 1)));
    const table = snpCertTable(authority);
    const { f } = await fixtureWith({ amdArkSha256: [sha256(authority.ark)] });
    const cases: Array<[string, (reportData: Buffer) => Buffer, string]> = [
      [
        'flipped byte',
        (reportData) => {
          const report = mintSnpReport(authority, { reportData });
          report[0x90] = report[0x90]! ^ 1;
          return report;
        },
        'ERR_VERIFIER_QUOTE_SIGNATURE',
      ],
      [
        'other nonce',
        () => mintSnpReport(authority, { reportData: Buffer.alloc(64, 1) }),
        'ERR_VERIFIER_NONCE_MISMATCH',
      ],
      [
        'debug',
        (reportData) => mintSnpReport(authority, { reportData, policy: 0xb0000n }),
        'ERR_VERIFIER_PLATFORM_POLICY',
      ],
    ];
    for (const [what, mint, code] of cases) {
      const res = await vtpmWithSnp(f, mint, table);
      assert.equal(res.status, 400, what);
      assert.equal(res.json.error.details[0].reason, code, what);
    }
    // A certificate table the host filled with bytes that are no certificates is refused as evidence.
    const junk = encodeSnpCertTable([
      { guid: SNP_CERT_GUID.VCEK, der: Buffer.from('not a certificate') },
      { guid: SNP_CERT_GUID.ASK, der: Buffer.from('30030201', 'hex') },
    ]);
    const junkRes = await vtpmWithSnp(f, (reportData) => mintSnpReport(authority, { reportData }), junk);
    assert.equal(junkRes.status, 400, JSON.stringify(junkRes.json));
    const mixed = encodeSnpCertTable([
      { guid: SNP_CERT_GUID.VCEK, der: authority.vcek },
      { guid: SNP_CERT_GUID.ASK, der: Buffer.from('30030201', 'hex') },
      { guid: SNP_CERT_GUID.ARK, der: authority.ark },
    ]);
    const mixedRes = await vtpmWithSnp(f, (reportData) => mintSnpReport(authority, { reportData }), mixed);
    assert.equal(mixedRes.status, 400, JSON.stringify(mixedRes.json));
    const { f: unpinned } = await fixtureWith();
    const res = await vtpmWithSnp(unpinned, (reportData) => mintSnpReport(authority, { reportData }), table);
    assert.equal(res.json.error.details[0].reason, 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
  });

  it('appraises the recorded Milan report at the verifier clock: valid chain, then the binding refuses it', async () => {
    const dir = join(vectors, 'sev-snp', 'virtee-milan');
    const [ask, ark] = splitPemCertificates(readFileSync(join(dir, 'cert_chain_milan.pem'), 'utf8'));
    const table = encodeSnpCertTable([
      { guid: SNP_CERT_GUID.VCEK, der: readFileSync(join(dir, 'vcek_milan.der')) },
      { guid: SNP_CERT_GUID.ASK, der: ask! },
      { guid: SNP_CERT_GUID.ARK, der: ark! },
    ]);
    const report = readFileSync(join(dir, 'report.bin'));
    // The verifier's clock is the appraisal time: inside the VCEK's validity the report authenticates and only
    // its report_data (made for another verifier, not this challenge) fails.
    const { f } = await fixtureWith({}, Date.parse('2026-01-01T00:00:00Z'));
    const inside = await vtpmWithSnp(f, () => report, table);
    assert.equal(inside.json.error.details[0].reason, 'ERR_VERIFIER_NONCE_MISMATCH');
    // After it (VCEK valid to 2030-04-03) the same evidence has no valid chain.
    const { f: late } = await fixtureWith({}, Date.parse('2031-01-01T00:00:00Z'));
    const expired = await vtpmWithSnp(late, () => report, table);
    assert.equal(expired.json.error.details[0].reason, 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
    assert.match(expired.json.error.message, /SEV-SNP/);
    // The flipped vector fails its signature whatever the binding.
    const flipped = await vtpmWithSnp(f, () => readFileSync(join(dir, 'report-flipped.bin')), table);
    assert.equal(flipped.json.error.details[0].reason, 'ERR_VERIFIER_QUOTE_SIGNATURE');
  });
});

describe('bare SEV-SNP over HTTP', () => {
  async function bare(
    f: Fixture,
    authority: ReturnType<typeof createSnpAuthority>,
    auxBlob: Buffer,
    tamper?: (log: Buffer) => Buffer,
  ) {
    const challenge = await f.createChallenge();
    const nonce = Buffer.from(challenge.tpmNonce, 'base64');
    const identity = await createInstanceIdentity({
      ca: f.ca,
      instance: { ...fixtureInstance(f.projectNumber), instanceName: 'snp1', instanceId: '77' },
      nowMs: f.clock.now(),
    });
    const records = [
      encodeCosContent(COS_TYPE.IMAGE_REF, `127.0.0.1:8080/builder-project/repo1/tee@${IMAGE_DIGEST}`),
      encodeCosContent(COS_TYPE.IMAGE_DIGEST, IMAGE_DIGEST),
      encodeCosContent(COS_TYPE.RESTART_POLICY, 'Always'),
      encodeCosContent(COS_TYPE.IMAGE_ID, `sha256:${'e9'.repeat(32)}`),
      encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, ''),
    ];
    const { celRecordFor, encodeCelRecord } = await import('@sealroom/attest');
    const log = Buffer.concat(
      records.map((content, i) =>
        encodeCelRecord(celRecordFor(BigInt(i), CEL_TYPE.CCMR, COS_CCMR, content, [TPM_ALG.SHA384])),
      ),
    );
    const launchRegister = replayCel(decodeCel(log), TPM_ALG.SHA384, CEL_TYPE.CCMR, COS_CCMR);
    const report = mintSnpReport(authority, {
      reportData: reportDataFor({ nonce, boundKey: identity.spki, launchRegister }),
      measurement: MEASUREMENT,
    });
    const body = await bodyFor(f, challenge.name, {
      sevSnpAttestation: toSevSnpAttestationJson({ report, auxBlob, canonicalEventLog: tamper ? tamper(log) : log }),
      gceShieldedIdentity: { akCert: toBase64(identity.certificate), akCertChain: [] },
    });
    return f.verify(challenge.name, body);
  }

  it('issues AMD_SEV_SNP with the container of the report-bound log, the image found by its measurement', async () => {
    const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 5, 1)));
    const { f, collateralDir } = await fixtureWith({
      amdArkSha256: [sha256(authority.ark)],
      images: [snpTestImage('snp-1', MEASUREMENT)],
    });
    // ASK and ARK come from the collateral store, as an administrator imported them.
    const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const files = [{ name: 'ask-ark.pem', bytes: Buffer.from(pem(authority.ask) + pem(authority.ark)) }];
    // An ARK that is not pinned is imported only with its fingerprint, as an administrator vouches for it.
    assert.throws(() => importCollateral(collateralDir, files), /neither pinned nor given/);
    importCollateral(collateralDir, files, { arkSha256: [sha256(authority.ark)] });
    assert.equal(readdirSync(join(collateralDir, 'sha256')).length, 1);
    const vcekOnly = encodeSnpCertTable([{ guid: SNP_CERT_GUID.VCEK, der: authority.vcek }]);
    const res = await bare(f, authority, vcekOnly);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const claims = decodeJwt(res.json.attestationToken) as Json;
    assert.equal(claims.hwmodel, 'AMD_SEV_SNP');
    assert.equal(claims.submods.container.restart_policy, 'Always');
    assert.equal(claims.submods.gce.instance_name, 'snp1');
    assert.deepEqual(claims.swversion, ['261100']);
    // A log that is not the one report_data binds is refused.
    const tampered = await bare(f, authority, vcekOnly, (log) => {
      const copy = Buffer.from(log);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 1;
      return copy;
    });
    assert.equal(tampered.status, 400);
    assert.equal(tampered.json.error.details[0].reason, 'ERR_VERIFIER_CEL_REJECTED');
  });

  it('refuses bare evidence without an identity certificate, or whose measurement no image lists', async () => {
    const authority = createSnpAuthority('Milan', new Date(Date.UTC(2026, 5, 1)));
    const table = snpCertTable(authority);
    const { f } = await fixtureWith({ amdArkSha256: [sha256(authority.ark)] });
    const challenge = await f.createChallenge();
    const noIdentity = await f.verify(
      challenge.name,
      await bodyFor(f, challenge.name, {
        sevSnpAttestation: toSevSnpAttestationJson({ report: mintSnpReport(authority), auxBlob: table }),
      }),
    );
    assert.equal(noIdentity.json.error.details[0].reason, 'ERR_VERIFIER_EVIDENCE_INCOMPLETE');
    // Bytes that are no certificate at all are refused as evidence, not answered with a server error.
    for (const akCert of ['AAAA', toBase64(Buffer.from('30820100', 'hex'))]) {
      const next = await f.createChallenge();
      const garbage = await f.verify(
        next.name,
        await bodyFor(f, next.name, {
          sevSnpAttestation: toSevSnpAttestationJson({ report: mintSnpReport(authority), auxBlob: table }),
          gceShieldedIdentity: { akCert, akCertChain: [] },
        }),
      );
      assert.equal(garbage.status, 400, JSON.stringify(garbage.json));
    }
    const unknown = await bare(f, authority, table);
    assert.equal(unknown.json.error.details[0].reason, 'ERR_VERIFIER_UNKNOWN_IMAGE');
  });
});

describe('TDX over HTTP with the recorded quote and collateral', () => {
  const dir = join(vectors, 'tdx', 'spr-e4-v4');
  const quote = readFileSync(join(dir, 'tdx_prod_quote_SPR_E4.dat'));

  async function vtpmWithTdx(f: Fixture, tdQuote: Buffer) {
    const platform = await f.boot();
    const challenge = await f.createChallenge();
    const tpm = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    const body = await f.body(tpm, challenge.name, { tdCcel: toTdCcelJson({ tdQuote }) });
    return f.verify(challenge.name, body);
  }

  it('evaluates the TCB against the store at the verifier clock and refuses the unmatched platform', async () => {
    const { f, collateralDir } = await fixtureWith({}, Date.parse('2023-07-01T00:00:00Z'));
    // No collateral in the store: appraisal does not call out, it refuses.
    const none = await vtpmWithTdx(f, quote);
    assert.equal(none.json.error.details[0].reason, 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
    assert.match(none.json.error.message, /TCB info and QE identity are required/);
    importCollateral(
      collateralDir,
      [
        'sample_tcbInfo_response',
        'sample_qeIdentity_response',
        'tcbInfo_issuer_chain.pem',
        'pckcrl',
        'rootcrl.der',
      ].map((name) => ({ name, bytes: readFileSync(join(dir, name)) })),
    );
    // With it, the quote authenticates and the PCK's SGX SVNs meet no TDX TCB level (as upstream concludes).
    const unmatched = await vtpmWithTdx(f, quote);
    assert.equal(unmatched.json.error.details[0].reason, 'ERR_VERIFIER_PLATFORM_POLICY');
    assert.match(unmatched.json.error.message, /no TCB level/);
    // A one-byte edit of the quote body breaks its signature before any collateral is read.
    const edited = Buffer.from(quote);
    edited[0x3c] = 0x32;
    assert.equal((await vtpmWithTdx(f, edited)).json.error.details[0].reason, 'ERR_VERIFIER_QUOTE_SIGNATURE');
    // At 2053 the PCK chain has expired (the platform CA of this deployment is young enough).
    const { f: late } = await fixtureWith({}, Date.parse('2053-06-01T00:00:00Z'));
    const expired = await vtpmWithTdx(late, quote);
    assert.equal(expired.json.error.details[0].reason, 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
    assert.match(expired.json.error.message, /TDX|PCK|Intel/);
  });

  it('refuses a body with two hardware reports, and bare TDX without its launch log', async () => {
    const { f } = await fixtureWith({}, Date.parse('2023-07-01T00:00:00Z'));
    const challenge = await f.createChallenge();
    const both = await f.verify(
      challenge.name,
      await bodyFor(f, challenge.name, {
        tdCcel: toTdCcelJson({ tdQuote: quote }),
        sevSnpAttestation: toSevSnpAttestationJson({ report: Buffer.alloc(1184), auxBlob: Buffer.alloc(0) }),
        gceShieldedIdentity: { akCert: toBase64(f.ca.certificate), akCertChain: [] },
      }),
    );
    assert.equal(both.status, 400);
    assert.equal(both.json.error.details[0].reason, 'ERR_VERIFIER_UNSUPPORTED_EVIDENCE');
    const identity = await createInstanceIdentity({
      ca: f.ca,
      instance: { ...fixtureInstance(f.projectNumber), instanceName: 'td1', instanceId: '78' },
      nowMs: f.clock.now(),
    });
    const next = await f.createChallenge();
    const noLog = await f.verify(
      next.name,
      await bodyFor(f, next.name, {
        tdCcel: toTdCcelJson({ tdQuote: quote }),
        gceShieldedIdentity: { akCert: toBase64(identity.certificate), akCertChain: [] },
      }),
    );
    assert.equal(noLog.json.error.details[0].reason, 'ERR_VERIFIER_EVIDENCE_INCOMPLETE');
  });
});
