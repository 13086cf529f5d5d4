import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatsError } from '../errors.ts';
import {
  EKU,
  OID,
  encodeName,
  ipFromBytes,
  ipToBytes,
  issueCertificate,
  readExtensions,
  readSubject,
  readSubjectAltNames,
  readSubjectKeyId,
  toPem,
} from './certificate.ts';
import { verifyCertificateChain } from './chain.ts';
import { parseDer, readChildren } from './der.ts';

const now = new Date();
const later = new Date(now.getTime() + 86400_000);
const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const caName = encodeName('Formats test CA', 'Sealroom');
const ca = issueCertificate({
  serial: randomBytes(16),
  issuer: caName,
  subject: caName,
  subjectPublicKey: caKeys.publicKey,
  signingKey: caKeys.privateKey,
  notBefore: new Date(now.getTime() - 60_000),
  notAfter: later,
  isCa: true,
  pathLength: 0,
});
const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const altNames = [
  { type: 'dns', value: 'localhost' },
  { type: 'dns', value: 'sealroom.test' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
] as const;
const leaf = issueCertificate({
  serial: randomBytes(16),
  issuer: readSubject(ca),
  subject: encodeName('sealroom'),
  subjectPublicKey: leafKeys.publicKey,
  signingKey: caKeys.privateKey,
  notBefore: new Date(now.getTime() - 60_000),
  notAfter: later,
  isCa: false,
  extendedKeyUsage: [EKU.serverAuth],
  subjectAltNames: altNames,
  authorityKeyId: readSubjectKeyId(ca)!,
});

function openssl(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('issued certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-formats-x509-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), toPem('CERTIFICATE', ca));
  writeFileSync(join(dir, 'leaf.pem'), toPem('CERTIFICATE', leaf));

  it("are accepted by Node's X509Certificate: CA flag, names, issuer and signature", () => {
    const caCert = new X509Certificate(ca);
    const leafCert = new X509Certificate(toPem('CERTIFICATE', leaf));
    assert.equal(caCert.ca, true);
    assert.equal(leafCert.ca, false);
    assert.equal(leafCert.checkIssued(caCert), true);
    assert.equal(leafCert.verify(caCert.publicKey), true);
    assert.equal(leafCert.subject, 'CN=sealroom');
    assert.equal(caCert.subject, 'O=Sealroom\nCN=Formats test CA');
    assert.equal(leafCert.checkHost('sealroom.test'), 'sealroom.test');
    assert.equal(leafCert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leafCert.checkIP('::1'), '::1');
    assert.deepEqual(leafCert.keyUsage, [EKU.serverAuth]);
    assert.ok(leafCert.publicKey.equals(leafKeys.publicKey));
  });

  it('pass `openssl x509 -text` and `openssl verify` as a TLS server certificate', () => {
    const text = openssl(['x509', '-noout', '-text', '-in', join(dir, 'leaf.pem')]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Version: 3 \(0x2\)/);
    assert.match(text.stdout, /DNS:localhost, DNS:sealroom\.test, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text.stdout, /TLS Web Server Authentication/);
    assert.match(text.stdout, /X509v3 Authority Key Identifier/);
    const caText = openssl(['x509', '-noout', '-text', '-in', join(dir, 'ca.pem')]);
    assert.equal(caText.status, 0, caText.stderr);
    assert.match(caText.stdout, /CA:TRUE, pathlen:0/);
    assert.match(caText.stdout, /Certificate Sign, CRL Sign/);
    const verify = openssl(['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /leaf\.pem: OK/);
  });

  it('fail `openssl verify` against another CA', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherName = encodeName('Formats test CA', 'Sealroom');
    const otherCa = issueCertificate({
      serial: randomBytes(16),
      issuer: otherName,
      subject: otherName,
      subjectPublicKey: other.publicKey,
      signingKey: other.privateKey,
      notBefore: now,
      notAfter: later,
      isCa: true,
    });
    writeFileSync(join(dir, 'other.pem'), toPem('CERTIFICATE', otherCa));
    const verify = openssl(['verify', '-CAfile', join(dir, 'other.pem'), join(dir, 'leaf.pem')]);
    assert.notEqual(verify.status, 0);
  });

  it('read back their subjectAltNames, key identifiers and extensions', () => {
    assert.deepEqual(readSubjectAltNames(leaf), [
      { type: 'dns', value: 'localhost' },
      { type: 'dns', value: 'sealroom.test' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '0:0:0:0:0:0:0:1' },
    ]);
    const extensions = readExtensions(leaf);
    assert.equal(extensions.get(OID.basicConstraints)?.critical, true);
    assert.equal(extensions.get(OID.keyUsage)?.critical, true);
    assert.equal(extensions.get(OID.subjectAltName)?.critical, false);
    assert.ok(extensions.has(OID.authorityKeyIdentifier));
    assert.deepEqual(readSubject(ca), caName);
    assert.equal(readSubjectKeyId(ca)?.length, 20);
  });

  it('sign with RSA and Ed25519 keys as well as ECDSA', () => {
    for (const keys of [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ed25519')]) {
      const name = encodeName(`${keys.publicKey.asymmetricKeyType} root`);
      const der = issueCertificate({
        serial: Uint8Array.of(1),
        issuer: name,
        subject: name,
        subjectPublicKey: keys.publicKey,
        signingKey: keys.privateKey,
        notBefore: now,
        notAfter: later,
        isCa: true,
      });
      const cert = new X509Certificate(der);
      assert.equal(cert.verify(keys.publicKey), true, String(keys.publicKey.asymmetricKeyType));
    }
  });
});

describe('IP addresses', () => {
  it('encode to 4 or 16 bytes and back', () => {
    assert.equal(ipToBytes('10.1.2.3').toString('hex'), '0a010203');
    assert.equal(ipToBytes('::1').toString('hex'), `${'0'.repeat(31)}1`);
    assert.equal(ipToBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
    assert.equal(ipToBytes('::').toString('hex'), '0'.repeat(32));
    assert.equal(ipFromBytes(ipToBytes('2001:db8::ff00:42:8329')), '2001:db8:0:0:0:ff00:42:8329');
    assert.equal(ipToBytes('::ffff:10.0.0.1').toString('hex'), '00000000000000000000ffff0a000001');
    for (const bad of ['localhost', '1.2.3', 'fe80::1%eth0']) {
      assert.throws(
        () => ipToBytes(bad),
        (e: unknown) => e instanceof FormatsError && e.code === 'ERR_FORMATS_ENCODE',
      );
    }
  });
});

describe('certificate chains', () => {
  it('validate leaf → root and refuse other roots, other times and non-certificates', () => {
    const chain = verifyCertificateChain(leaf, { roots: [ca], intermediates: [], at: now });
    assert.deepEqual(Buffer.from(chain.root), ca);
    assert.ok(chain.leaf.publicKey.equals(leafKeys.publicKey));
    const refused = (e: unknown) => e instanceof FormatsError && e.code === 'ERR_FORMATS_CERT_CHAIN';
    assert.throws(() => verifyCertificateChain(leaf, { roots: [leaf], intermediates: [], at: now }), refused);
    assert.throws(
      () => verifyCertificateChain(leaf, { roots: [ca], intermediates: [], at: new Date(later.getTime() + 1000) }),
      refused,
    );
    assert.throws(() => verifyCertificateChain(Uint8Array.of(0x30, 0), { roots: [ca], intermediates: [], at: now }), {
      code: 'ERR_FORMATS_CERT_CHAIN',
      message: /leaf certificate is not a valid X.509 certificate/,
    });
  });
});

describe('DER readers on hostile input', () => {
  const mutated = (seed: Uint8Array) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc
        .tuple(
          fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          fc.nat(seed.length),
        )
        .map(([edits, cut]) => {
          const copy = Buffer.from(seed);
          for (const [at, value] of edits) copy[at] = value;
          return copy.subarray(0, Math.max(cut, seed.length - 8));
        }),
    );
  const readers: ReadonlyArray<[string, (bytes: Uint8Array) => unknown]> = [
    ['DER', (b) => readChildren(parseDer(b))],
    ['certificate extensions', readExtensions],
    ['subjectAltName', readSubjectAltNames],
  ];
  for (const [name, read] of readers) {
    it(`${name}: returns or throws only FormatsError`, () => {
      fc.assert(
        fc.property(mutated(leaf), (bytes) => {
          try {
            read(bytes);
          } catch (error) {
            assert.ok(error instanceof FormatsError, `untyped error: ${String(error)}`);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
