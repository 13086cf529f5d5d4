// The instance identity of a hardware platform without a TPM: a key made at boot, certified by the platform CA
// with the instance's identity extension, and bound into every report's report_data.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { AttestError } from '../errors.ts';
import type { InstanceInfo } from '../x509/instance-info.ts';
import type { PlatformCa } from './platform-ca.ts';
import type { AkCertifier } from './soft.ts';

export interface InstanceIdentity {
  /** DER of the certificate the platform CA issued for the identity key. */
  readonly certificate: Buffer;
  /** DER SPKI of the identity key: what report_data binds. */
  readonly spki: Buffer;
}

export interface IdentityOptions {
  /** The CA here, or a certifier in another process (the host agent) that keeps the CA's key. */
  readonly ca: PlatformCa | AkCertifier;
  readonly instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>;
  readonly nowMs: number;
}

/** A fresh identity for one boot; the private key is dropped, the hardware report vouches for the binding. */
export async function createInstanceIdentity(options: IdentityOptions): Promise<InstanceIdentity> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const { ca } = options;
  if (typeof ca !== 'function') {
    const certificate = ca.issueAkCertificate(
      publicKey,
      { ...options.instance, securityVersion: '0', isProduction: true },
      options.nowMs,
    );
    return { certificate, spki };
  }
  const certificate = await ca(publicKey, options.instance);
  let certified: Buffer;
  try {
    certified = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  } catch (cause) {
    throw new AttestError('ERR_ATTEST_PLATFORM', 'The identity certificate could not be parsed.', { cause });
  }
  if (!certified.equals(spki))
    throw new AttestError('ERR_ATTEST_PLATFORM', 'The identity certificate does not certify this identity key.');
  return { certificate, spki };
}
