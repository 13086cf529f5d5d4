import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EKU, encodeName, issueCertificate } from '@sealroom/formats';
import { loadGceVector } from '../test-vectors.ts';
import { parseTpmPublic, toPublicKey } from '../tpm/public.ts';
import { verifyAkCertificateChain } from './ak-chain.ts';
import { decodeInstanceInfo, encodeInstanceInfo, readInstanceInfo } from './instance-info.ts';

const vector = loadGceVector();
const AT = new Date('2026-01-01T00:00:00Z');
const notInChain = (name: string): Buffer => readFileSync(join(vector.dir, 'ca', 'not-in-chain', name));

describe('GCE AK certificate (shared vector)', () => {
  it('chains AK → tpm_ek_intermediate_2 → tpm_ek_root_1 at the pinned time', () => {
    const chain = verifyAkCertificateChain(vector.akCert, {
      roots: [vector.root],
      intermediates: [vector.intermediate],
      at: AT,
    });
    assert.deepEqual(Buffer.from(chain.root), vector.root);
  });

  it('carries the same key as the AK public area', () => {
    const fromCert = verifyAkCertificateChain(vector.akCert, {
      roots: [vector.root],
      intermediates: [vector.intermediate],
      at: AT,
    }).leaf.publicKey;
    assert.ok(fromCert.equals(toPublicKey(parseTpmPublic(vector.akPub))));
  });

  it('decodes the instance identity extension', () => {
    const info = readInstanceInfo(vector.akCert)!;
    const want = vector.expected.expect.instanceInfo;
    assert.deepEqual(info, {
      zone: want.zone,
      projectNumber: '117478743145',
      projectId: want.projectId,
      instanceId: '6797026933021542085',
      instanceName: want.instanceName,
      securityVersion: '0',
      isProduction: true,
    });
  });

  it('refuses a root with no intermediate', () => {
    assert.throws(() => verifyAkCertificateChain(vector.akCert, { roots: [vector.root], intermediates: [], at: AT }), {
      code: 'ERR_ATTEST_CERT_CHAIN',
    });
  });

  it('refuses the CAs the AK certificate does not chain to', () => {
    assert.throws(
      () =>
        verifyAkCertificateChain(vector.akCert, {
          roots: [notInChain('gcp_ek_ak_ca_root.crt')],
          intermediates: [notInChain('gcp_ek_ak_ca_intermediate_v3.crt'), notInChain('tpm_ek_intermediate_3.crt')],
          at: AT,
        }),
      { code: 'ERR_ATTEST_CERT_CHAIN' },
    );
  });

  it('refuses the chain outside its validity window', () => {
    const at = new Date('2060-01-01T00:00:00Z');
    assert.throws(
      () => verifyAkCertificateChain(vector.akCert, { roots: [vector.root], intermediates: [vector.intermediate], at }),
      {
        code: 'ERR_ATTEST_CERT_CHAIN',
      },
    );
  });
});

describe('issued certificates', () => {
  const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = encodeName('Sealroom test platform CA', 'Sealroom');
  const now = new Date('2026-06-01T00:00:00Z');
  const later = new Date('2027-06-01T00:00:00Z');
  const root = issueCertificate({
    serial: randomBytes(16),
    issuer: caName,
    subject: caName,
    subjectPublicKey: caKey.publicKey,
    signingKey: caKey.privateKey,
    notBefore: now,
    notAfter: later,
    isCa: true,
  });
  const info = {
    zone: 'us-central1-a',
    projectNumber: '123456789012',
    projectId: 'operator-project',
    instanceId: '6920867375712861823',
    instanceName: 'vm1',
    securityVersion: '0',
    isProduction: true,
  };

  it('round-trips the instance info encoding', () => {
    assert.deepEqual(decodeInstanceInfo(encodeInstanceInfo(info)), info);
  });

  it('issues an AK certificate that chains to its CA and carries the instance info', () => {
    const ak = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leaf = issueCertificate({
      serial: randomBytes(16),
      issuer: caName,
      subject: encodeName('vm1 AK'),
      subjectPublicKey: ak.publicKey,
      signingKey: caKey.privateKey,
      notBefore: now,
      notAfter: later,
      isCa: false,
      extendedKeyUsage: [EKU.tcgKpAikCertificate],
      extraExtensions: [{ oid: '1.3.6.1.4.1.11129.2.1.21', critical: false, value: encodeInstanceInfo(info) }],
    });
    const chain = verifyAkCertificateChain(leaf, {
      roots: [root],
      intermediates: [],
      at: new Date('2026-07-01T00:00:00Z'),
    });
    assert.ok(chain.leaf.publicKey.equals(ak.publicKey));
    assert.deepEqual(readInstanceInfo(leaf), info);
    assert.throws(() => verifyAkCertificateChain(leaf, { roots: [vector.root], intermediates: [], at: now }), {
      code: 'ERR_ATTEST_CERT_CHAIN',
    });
  });
});
