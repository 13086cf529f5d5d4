import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGceVector } from '../test-vectors.ts';
import { TPM_ALG } from './constants.ts';
import { verifyTpmEvidence } from './evidence.ts';
import type { TpmEvidence } from './evidence.ts';

const vector = loadGceVector();
const AT = new Date('2026-01-01T00:00:00Z');
const evidence: TpmEvidence = {
  quotes: vector.quotes,
  akPub: vector.akPub,
  akCert: vector.akCert,
  certChain: [],
  tcgEventLog: vector.eventLog,
};
const options = { nonce: vector.nonce, trustedRoots: [vector.root], intermediates: [vector.intermediate], at: AT };

describe('GCE COS 85 attestation as a whole (shared vector)', () => {
  it('verifies all three banks, the nonce, the AK chain, the event log and the instance info', () => {
    const verified = verifyTpmEvidence(evidence, options);
    assert.deepEqual([...verified.pcrs.keys()], [TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384]);
    assert.equal(verified.quotes.length, 3);
    assert.equal(verified.instanceInfo?.instanceName, 'cos-test');
    assert.equal(verified.instanceInfo?.projectNumber, '117478743145');
    assert.ok(verified.kernelCmdline?.startsWith('/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd'));
    assert.ok(verified.kernelCmdline?.endsWith('"'));
  });

  it('also accepts the chain when the evidence itself carries the intermediate', () => {
    verifyTpmEvidence({ ...evidence, certChain: [vector.intermediate] }, { ...options, intermediates: [] });
  });

  it('refuses SHA-1 alone', () => {
    const sha1Only = { ...evidence, quotes: vector.quotes.filter((q) => q.hashAlgo === TPM_ALG.SHA1) };
    assert.throws(() => verifyTpmEvidence(sha1Only, options), { code: 'ERR_ATTEST_UNSUPPORTED_ALGORITHM' });
  });

  it('refuses an AK public area that is not the certificate key', () => {
    const akPub = Buffer.from(vector.akPub);
    akPub[akPub.length - 1]! ^= 1;
    assert.throws(() => verifyTpmEvidence({ ...evidence, akPub }, options), { code: 'ERR_ATTEST_AK_MISMATCH' });
  });

  it('refuses an event log that does not replay to the quoted PCRs', () => {
    const tcgEventLog = Buffer.from(vector.eventLog);
    // The first PCR 4 EFI application digest of the SHA-256 bank.
    const digestAt = tcgEventLog.indexOf(Buffer.from('dba8d69ffb244496ac8ab2950695d3da', 'hex'));
    tcgEventLog[digestAt]! ^= 1;
    assert.throws(() => verifyTpmEvidence({ ...evidence, tcgEventLog }, options), {
      code: 'ERR_ATTEST_REPLAY_MISMATCH',
    });
  });

  it('refuses the wrong nonce', () => {
    assert.throws(() => verifyTpmEvidence(evidence, { ...options, nonce: Buffer.from('9008', 'hex') }), {
      code: 'ERR_ATTEST_NONCE_MISMATCH',
    });
  });
});
