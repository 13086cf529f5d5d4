// The deployment's own CA and the TLS certificate of its gRPC (and optional HTTPS) listeners.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sealer } from '@sealroom/core';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface DeploymentTls {
  /** PEM of the CA certificate clients trust (also written to `<dir>/ca.pem`). */
  readonly caPem: string;
  readonly caPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_YEARS = 10;
const LEAF_DAYS = 397;

/**
 * Loads the CA and server certificate from `dir`, creating them when absent or when the server
 * certificate lacks one of `hostnames` or is about to expire. Private keys are kept sealed.
 */
export async function loadOrCreateDeploymentTls(
  dir: string,
  sealer: Sealer,
  hostnames: readonly string[],
): Promise<DeploymentTls> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca.key.sealed');
  let caCert: x509.X509Certificate;
  let caKeys: CryptoKeyPair;
  if (existsSync(caPath) && existsSync(caKeyPath)) {
    caCert = new x509.X509Certificate(readFileSync(caPath, 'utf8'));
    const pkcs8 = sealer.open(readFileSync(caKeyPath), 'tls/ca-key');
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ALG, true, ['sign']);
    caKeys = { privateKey, publicKey: await caCert.publicKey.export(ALG, ['verify']) } as CryptoKeyPair;
  } else {
    caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = new Date();
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=Sealroom deployment CA, O=Sealroom',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + CA_YEARS * 365 * 86400_000),
      keys: caKeys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', caKeys.privateKey));
    writeFileSync(caKeyPath, sealer.seal(pkcs8, 'tls/ca-key'), { mode: 0o600 });
    writeFileSync(caPath, caCert.toString('pem') + '\n', { mode: 0o644 });
  }
  const leafPath = join(dir, 'server.pem');
  const leafKeyPath = join(dir, 'server.key.sealed');
  const wanted = [...new Set(['localhost', '127.0.0.1', '::1', ...hostnames])];
  if (existsSync(leafPath) && existsSync(leafKeyPath)) {
    const leaf = new x509.X509Certificate(readFileSync(leafPath, 'utf8'));
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    const names = new Set((san?.names.items ?? []).map((n) => n.value));
    const fresh = leaf.notAfter.getTime() - Date.now() > 30 * 86400_000;
    if (fresh && wanted.every((h) => names.has(h)) && (await leaf.verify({ publicKey: caCert.publicKey }))) {
      const keyPem = pemOf('PRIVATE KEY', sealer.open(readFileSync(leafKeyPath), 'tls/server-key'));
      return { caPem: caCert.toString('pem'), caPath, certPem: leaf.toString('pem'), keyPem };
    }
  }
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = new Date();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=sealroom',
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LEAF_DAYS * 86400_000),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        wanted.map((h) => (/^[\d.:]+$/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
  writeFileSync(leafKeyPath, sealer.seal(pkcs8, 'tls/server-key'), { mode: 0o600 });
  writeFileSync(leafPath, leaf.toString('pem') + '\n', { mode: 0o644 });
  return { caPem: caCert.toString('pem'), caPath, certPem: leaf.toString('pem'), keyPem: pemOf('PRIVATE KEY', pkcs8) };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] as number) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function pemOf(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
