// The deployment's own CA and the TLS certificate of its gRPC (and optional HTTPS) listeners.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Sealer } from '@sealroom/core';
import {
  EKU,
  encodeName,
  ipFromBytes,
  ipToBytes,
  issueCertificate,
  readSubject,
  readSubjectAltNames,
  readSubjectKeyId,
  toPem,
} from '@sealroom/formats';

export interface DeploymentTls {
  /** PEM of the CA certificate clients trust (also written to `<dir>/ca.pem`). */
  readonly caPem: string;
  readonly caPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const CA_YEARS = 10;
const LEAF_DAYS = 397;
const RENEW_BEFORE_MS = 30 * 86400_000;

interface Ca {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
}

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
  const ca = loadOrCreateCa(dir, caPath, sealer);
  const caPem = ca.cert.toString();
  const leafPath = join(dir, 'server.pem');
  const leafKeyPath = join(dir, 'server.key.sealed');
  const wanted = [...new Set(['localhost', '127.0.0.1', '::1', ...hostnames])];
  if (existsSync(leafPath) && existsSync(leafKeyPath)) {
    const leaf = new X509Certificate(readFileSync(leafPath, 'utf8'));
    const fresh = leaf.validToDate.getTime() - Date.now() > RENEW_BEFORE_MS;
    if (fresh && covers(leaf.raw, wanted) && leaf.checkIssued(ca.cert) && leaf.verify(ca.cert.publicKey)) {
      const keyPem = toPem('PRIVATE KEY', sealer.open(readFileSync(leafKeyPath), 'tls/server-key'));
      return { caPem, caPath, certPem: leaf.toString(), keyPem };
    }
  }
  const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const caKeyId = readSubjectKeyId(ca.cert.raw);
  const leafDer = issueCertificate({
    serial: randomSerial(),
    issuer: readSubject(ca.cert.raw),
    subject: encodeName('sealroom'),
    subjectPublicKey: leafKeys.publicKey,
    signingKey: ca.key,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + LEAF_DAYS * 86400_000),
    isCa: false,
    extendedKeyUsage: [EKU.serverAuth],
    subjectAltNames: wanted.map((h) => ({ type: isIP(h) === 0 ? 'dns' : 'ip', value: h })),
    ...(caKeyId === undefined ? {} : { authorityKeyId: caKeyId }),
  });
  const pkcs8 = leafKeys.privateKey.export({ type: 'pkcs8', format: 'der' });
  const certPem = toPem('CERTIFICATE', leafDer);
  writeFileSync(leafKeyPath, sealer.seal(pkcs8, 'tls/server-key'), { mode: 0o600 });
  writeFileSync(leafPath, certPem, { mode: 0o644 });
  return { caPem, caPath, certPem, keyPem: toPem('PRIVATE KEY', pkcs8) };
}

function loadOrCreateCa(dir: string, caPath: string, sealer: Sealer): Ca {
  const caKeyPath = join(dir, 'ca.key.sealed');
  if (existsSync(caPath) && existsSync(caKeyPath)) {
    const cert = new X509Certificate(readFileSync(caPath, 'utf8'));
    const pkcs8 = sealer.open(readFileSync(caKeyPath), 'tls/ca-key');
    return { cert, key: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }) };
  }
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = encodeName('Sealroom deployment CA', 'Sealroom');
  const now = Date.now();
  const der = issueCertificate({
    serial: randomSerial(),
    issuer: name,
    subject: name,
    subjectPublicKey: keys.publicKey,
    signingKey: keys.privateKey,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_YEARS * 365 * 86400_000),
    isCa: true,
    pathLength: 0,
  });
  writeFileSync(caKeyPath, sealer.seal(keys.privateKey.export({ type: 'pkcs8', format: 'der' }), 'tls/ca-key'), {
    mode: 0o600,
  });
  writeFileSync(caPath, toPem('CERTIFICATE', der), { mode: 0o644 });
  return { cert: new X509Certificate(der), key: keys.privateKey };
}

/** Whether the certificate names every host: DNS names as text, addresses in one form (`::1` = `0:…:1`). */
function covers(certDer: Uint8Array, hosts: readonly string[]): boolean {
  const names = readSubjectAltNames(certDer);
  const dns = new Set(names.filter((n) => n.type === 'dns').map((n) => n.value));
  const ips = new Set(names.filter((n) => n.type === 'ip').map((n) => n.value));
  return hosts.every((h) => (isIP(h) === 0 ? dns.has(h) : ips.has(ipFromBytes(ipToBytes(h)))));
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative). */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes;
}

export interface ClientCertificateOptions {
  /** The key the certificate binds (the requester proved it holds it). */
  readonly publicKey: KeyObject;
  readonly commonName: string;
  readonly organization: string;
  readonly validDays: number;
}

/**
 * Issues a client certificate (EKU clientAuth) from the deployment CA in `dir`, for mutual TLS with a
 * listener that trusts the CA (a host agent's channel). The CA key never leaves this process.
 */
export function issueDeploymentClientCertificate(
  dir: string,
  sealer: Sealer,
  options: ClientCertificateOptions,
): string {
  const ca = loadOrCreateCa(dir, join(dir, 'ca.pem'), sealer);
  const now = Date.now();
  const caKeyId = readSubjectKeyId(ca.cert.raw);
  const der = issueCertificate({
    serial: randomSerial(),
    issuer: readSubject(ca.cert.raw),
    subject: encodeName(options.commonName, options.organization),
    subjectPublicKey: options.publicKey,
    signingKey: ca.key,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + options.validDays * 86400_000),
    isCa: false,
    extendedKeyUsage: [EKU.clientAuth],
    ...(caKeyId === undefined ? {} : { authorityKeyId: caKeyId }),
  });
  return toPem('CERTIFICATE', der);
}
