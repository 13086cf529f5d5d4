// The sev-snp and tdx platforms against a directory imitating configfs-tsm and the TDX measurement sysfs,
// serving the recorded vectors (and, for binding, reports a fake AMD hierarchy signs over the written inblob).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttestError, type AttestErrorCode } from '../errors.ts';
import { CEL_TYPE, decodeCel, replayCel } from '../eventlog/cel.ts';
import { COS_TYPE, encodeCosContent, parseCosState } from '../eventlog/cos.ts';
import { reportDataFor } from '../report-data.ts';
import { splitPemCertificates } from '../sev-snp/certs.ts';
import { createSnpAuthority, mintSnpReport } from '../sev-snp/simulator.ts';
import { appraiseSnpReport, verifySnpReport } from '../sev-snp/verify.ts';
import { verifyTdxQuote } from '../tdx/verify.ts';
import { vectorPath } from '../test-vectors.ts';
import { TPM_ALG } from '../tpm/constants.ts';
import { SNP_CERT_GUID, encodeSnpCertTable, parseSnpCertTable } from '../tsm/cert-table.ts';
import { probeTsmProvider, requestTsmReport } from '../tsm/configfs.ts';
import { imitateConfigfsTsm } from '../tsm/imitation.ts';
import { createPlatformCa } from './platform-ca.ts';
import { bootSevSnpPlatform } from './sev-snp.ts';
import { bootTdxPlatform } from './tdx.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-tsm-'));
  dirs.push(dir);
  return dir;
}

const NOW = Date.parse('2026-01-01T00:00:00Z');
const ca = createPlatformCa(NOW);
const instance = {
  zone: 'us-central1-a',
  projectId: 'p',
  projectNumber: '1',
  instanceName: 'vm',
  instanceId: '42',
};
const snpDir = vectorPath('sev-snp', 'virtee-milan');
const snpReport = readFileSync(join(snpDir, 'report.bin'));
const vcek = readFileSync(join(snpDir, 'vcek_milan.der'));
const [ask, ark] = splitPemCertificates(readFileSync(join(snpDir, 'cert_chain_milan.pem'), 'utf8'));
const auxblob = encodeSnpCertTable([
  { guid: SNP_CERT_GUID.VCEK, der: vcek },
  { guid: SNP_CERT_GUID.ASK, der: ask! },
  { guid: SNP_CERT_GUID.ARK, der: ark! },
]);
const tdxQuote = readFileSync(vectorPath('tdx', 'spr-e4-v4', 'tdx_prod_quote_SPR_E4.dat'));

async function refusal(code: AttestErrorCode, run: () => Promise<unknown>): Promise<void> {
  await assert.rejects(run, (error) => error instanceof AttestError && error.code === code);
}

const launchEvents = [
  encodeCosContent(COS_TYPE.IMAGE_REF, 'registry.example/p/r/app:1'),
  encodeCosContent(COS_TYPE.IMAGE_DIGEST, `sha256:${'ab'.repeat(32)}`),
  encodeCosContent(COS_TYPE.RESTART_POLICY, 'Never'),
  encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, new Uint8Array(0)),
];

describe('sev-snp platform over configfs-tsm', () => {
  it('serves the recorded Milan report and certificate table through the kernel interface', async () => {
    const tsm = imitateConfigfsTsm({ dir: tempDir(), provider: 'sev_guest', outblob: () => snpReport, auxblob });
    const platform = await bootSevSnpPlatform({ ca, instance, nowMs: NOW, tsm: { root: tsm.reportRoot, fs: tsm.fs } });
    for (const event of launchEvents) await platform.measureEvent(event);
    const nonce = Buffer.from('0123456789abcdef0123456789abcdef');
    const evidence = await platform.attest(nonce);
    assert.equal(evidence.kind, 'sev-snp');
    if (evidence.kind !== 'sev-snp') return;
    assert.deepEqual(Buffer.from(evidence.sevSnp.report), snpReport);
    // The inblob is the documented construction over the challenge, the identity key and the launch register.
    const register = replayCel(decodeCel(evidence.canonicalEventLog), TPM_ALG.SHA384, CEL_TYPE.CCMR, 4);
    assert.deepEqual(tsm.inblobs, [
      reportDataFor({ nonce, boundKey: platform.identity.spki, launchRegister: register }),
    ]);
    const table = parseSnpCertTable(evidence.sevSnp.auxBlob);
    assert.deepEqual(
      table.map((e) => e.kind),
      ['VCEK', 'ASK', 'ARK'],
    );
    // The recorded report verifies with the VCEK the table carried, at the vector's time.
    const verified = verifySnpReport(
      { report: evidence.sevSnp.report, leaf: table[0]!.der, certificates: [table[1]!.der, table[2]!.der] },
      { at: new Date('2026-01-01T00:00:00Z') },
    );
    assert.equal(verified.report.version, 2);
    assert.equal(parseCosState(decodeCel(evidence.canonicalEventLog), 'sev-snp').container.restartPolicy, 'Never');
  });

  it('binds the challenge: a report signed over the written inblob passes the appraisal', async () => {
    const authority = createSnpAuthority('Milan', new Date(NOW));
    const tsm = imitateConfigfsTsm({
      dir: tempDir(),
      provider: 'sev_guest',
      outblob: (inblob) => mintSnpReport(authority, { reportData: inblob }),
      auxblob: encodeSnpCertTable([{ guid: SNP_CERT_GUID.VCEK, der: authority.vcek }]),
    });
    const platform = await bootSevSnpPlatform({ ca, instance, nowMs: NOW, tsm: { root: tsm.reportRoot, fs: tsm.fs } });
    for (const event of launchEvents) await platform.measureEvent(event);
    const nonce = Buffer.alloc(32, 7);
    const evidence = await platform.attest(nonce);
    if (evidence.kind !== 'sev-snp') return assert.fail('not SEV-SNP evidence');
    const leaf = parseSnpCertTable(evidence.sevSnp.auxBlob)[0]!.der;
    const verified = verifySnpReport(
      { report: evidence.sevSnp.report, leaf, certificates: [authority.ask] },
      { at: new Date(NOW), trustedRoots: [authority.ark] },
    );
    const launchRegister = replayCel(decodeCel(evidence.canonicalEventLog), TPM_ALG.SHA384, CEL_TYPE.CCMR, 4);
    appraiseSnpReport(verified, {
      reportData: { challenge: { nonce, boundKey: platform.identity.spki, launchRegister } },
    });
    // The same report does not bind another nonce.
    await assert.throws(
      () =>
        appraiseSnpReport(verified, {
          reportData: { challenge: { nonce: Buffer.alloc(32, 8), boundKey: platform.identity.spki, launchRegister } },
        }),
      (error) => error instanceof AttestError && error.code === 'ERR_ATTEST_REPORT_DATA',
    );
  });

  it('refuses a report when another writer moved the generation while it was read', async () => {
    const tsm = imitateConfigfsTsm({
      dir: tempDir(),
      provider: 'sev_guest',
      outblob: () => snpReport,
      raceAfterRead: true,
    });
    const platform = await bootSevSnpPlatform({ ca, instance, nowMs: NOW, tsm: { root: tsm.reportRoot, fs: tsm.fs } });
    await refusal('ERR_ATTEST_TSM_GENERATION', () => platform.attest(Buffer.alloc(32)));
  });

  it('refuses a configfs-tsm whose provider is another TEE, and a machine without configfs-tsm', async () => {
    const tsm = imitateConfigfsTsm({ dir: tempDir(), provider: 'tdx_guest', outblob: () => tdxQuote });
    const platform = await bootSevSnpPlatform({ ca, instance, nowMs: NOW, tsm: { root: tsm.reportRoot, fs: tsm.fs } });
    await refusal('ERR_ATTEST_TSM_PROVIDER', () => platform.attest(Buffer.alloc(32)));
    const missing = await bootSevSnpPlatform({
      ca,
      instance,
      nowMs: NOW,
      tsm: { root: join(tempDir(), 'no', 'report') },
    });
    await refusal('ERR_ATTEST_TSM', () => missing.attest(Buffer.alloc(32)));
  });

  it('sends privlevel before inblob and reads the provider for detection', async () => {
    const tsm = imitateConfigfsTsm({ dir: tempDir(), provider: 'sev_guest', outblob: () => snpReport });
    const report = await requestTsmReport({
      root: tsm.reportRoot,
      fs: tsm.fs,
      inblob: Buffer.alloc(64, 1),
      privlevel: 2,
      provider: 'sev-snp',
    });
    assert.equal(report.generation, 2);
    assert.equal(report.auxblob?.length, 0);
    assert.equal(await probeTsmProvider({ root: tsm.reportRoot, fs: tsm.fs }), 'sev_guest');
    assert.equal(await probeTsmProvider({ root: join(tempDir(), 'none') }), undefined);
    await refusal('ERR_ATTEST_TSM', () =>
      requestTsmReport({ root: tsm.reportRoot, fs: tsm.fs, inblob: Buffer.alloc(63), provider: 'sev-snp' }),
    );
  });

  it('refuses a malformed certificate table', () => {
    const table = Buffer.from(auxblob);
    table.writeUInt32LE(0xffff, 16);
    assert.throws(
      () => parseSnpCertTable(table),
      (error) => error instanceof AttestError && error.code === 'ERR_ATTEST_SNP_CERT_TABLE',
    );
    assert.throws(
      () => parseSnpCertTable(auxblob.subarray(0, 30)),
      (error) => error instanceof AttestError && error.code === 'ERR_ATTEST_SNP_CERT_TABLE',
    );
  });
});

describe('tdx platform over configfs-tsm and the RTMR sysfs', () => {
  it('extends RTMR 3 with each launch event and serves the recorded quote', async () => {
    const tsm = imitateConfigfsTsm({ dir: tempDir(), provider: 'tdx_guest', outblob: () => tdxQuote });
    const platform = await bootTdxPlatform({
      ca,
      instance,
      nowMs: NOW,
      tsm: { root: tsm.reportRoot, fs: tsm.fs },
      rtmr: { root: tsm.measurementsRoot, fs: tsm.fs },
      ccel: false,
    });
    for (const event of launchEvents) await platform.measureEvent(event);
    const nonce = Buffer.alloc(32, 3);
    const evidence = await platform.attest(nonce);
    if (evidence.kind !== 'tdx') return assert.fail('not TDX evidence');
    assert.deepEqual(Buffer.from(evidence.tdx.tdQuote), tdxQuote);
    assert.deepEqual(tsm.inblobs, [reportDataFor({ nonce, boundKey: platform.identity.spki })]);
    const records = decodeCel(evidence.canonicalEventLog);
    assert.deepEqual(replayCel(records, TPM_ALG.SHA384, CEL_TYPE.CCMR, 4), tsm.rtmr(3));
    assert.equal(parseCosState(records, 'tdx').container.imageReference, 'registry.example/p/r/app:1');
    // The recorded quote itself verifies at the vector's time.
    assert.equal(
      verifyTdxQuote(evidence.tdx.tdQuote, { at: new Date('2023-07-01T00:00:00Z') }).quote.header.version,
      4,
    );
  });

  it('refuses to boot when RTMR 3 was already extended, and without the measurement sysfs', async () => {
    const tsm = imitateConfigfsTsm({ dir: tempDir(), provider: 'tdx_guest', outblob: () => tdxQuote });
    await tsm.fs.writeFile(join(tsm.measurementsRoot, 'rtmr3:sha384'), Buffer.alloc(48, 1));
    const options = { ca, instance, nowMs: NOW, tsm: { root: tsm.reportRoot, fs: tsm.fs } };
    await refusal('ERR_ATTEST_PLATFORM', () =>
      bootTdxPlatform({ ...options, rtmr: { root: tsm.measurementsRoot, fs: tsm.fs } }),
    );
    await refusal('ERR_ATTEST_RTMR', () => bootTdxPlatform({ ...options, rtmr: { root: join(tempDir(), 'none') } }));
  });
});
