// The control plane's platform CA: a self-signed root that issues soft-platform AK certificates with the
// instance identity extension. Dev-only trust: production verifier configurations never list it.
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { EKU, encodeName, issueCertificate, readSubject } from '@sealroom/formats';
import { GCE_INSTANCE_INFO_OID, encodeInstanceInfo } from '../x509/instance-info.ts';
import type { InstanceInfo } from '../x509/instance-info.ts';

export const PLATFORM_CA_VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
/** An AK lives for one boot; its certificate outlives any reasonable instance lifetime. */
export const AK_CERT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
const CA_ORGANIZATION = 'Sealroom';
const CA_COMMON_NAME = 'Sealroom soft platform CA (development only)';

export interface PlatformCa {
  /** DER of the self-signed root. */
  readonly certificate: Buffer;
  /** PKCS#8 DER of the CA key, to be sealed at rest by its holder. */
  exportPrivateKey(): Buffer;
  issueAkCertificate(akPublicKey: KeyObject, instance: InstanceInfo, nowMs: number): Buffer;
}

function caFrom(certificate: Buffer, privateKey: KeyObject): PlatformCa {
  const subject = Buffer.from(readSubject(certificate));
  return {
    certificate,
    exportPrivateKey: () => privateKey.export({ type: 'pkcs8', format: 'der' }),
    issueAkCertificate: (akPublicKey, instance, nowMs) =>
      issueCertificate({
        serial: Buffer.concat([Buffer.of(0x01), randomBytes(15)]),
        issuer: subject,
        subject: encodeName(`${instance.instanceName} attestation key`, CA_ORGANIZATION),
        subjectPublicKey: akPublicKey,
        signingKey: privateKey,
        notBefore: new Date(nowMs - 60_000),
        notAfter: new Date(nowMs + AK_CERT_VALIDITY_MS),
        isCa: false,
        extendedKeyUsage: [EKU.tcgKpAikCertificate],
        extraExtensions: [{ oid: GCE_INSTANCE_INFO_OID, critical: false, value: encodeInstanceInfo(instance) }],
      }),
  };
}

export function createPlatformCa(nowMs: number): PlatformCa {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = encodeName(CA_COMMON_NAME, CA_ORGANIZATION);
  const certificate = issueCertificate({
    serial: Buffer.concat([Buffer.of(0x01), randomBytes(15)]),
    issuer: name,
    subject: name,
    subjectPublicKey: publicKey,
    signingKey: privateKey,
    notBefore: new Date(nowMs - 60_000),
    notAfter: new Date(nowMs + PLATFORM_CA_VALIDITY_MS),
    isCa: true,
  });
  return caFrom(certificate, privateKey);
}

/** Restores a CA from its certificate and PKCS#8 key (as `exportPrivateKey` gave it). */
export function loadPlatformCa(certificate: Uint8Array, privateKeyPkcs8: Uint8Array): PlatformCa {
  new X509Certificate(certificate);
  const privateKey = createPrivateKey({ key: Buffer.from(privateKeyPkcs8), format: 'der', type: 'pkcs8' });
  return caFrom(Buffer.from(certificate), privateKey);
}
