// AK enrolment: the platform CA certifies an attestation key only after a MakeCredential / ActivateCredential
// round trip proves the key lives in the TPM that holds the endorsement key (TPM 2.0 Part 1 §24).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { TPM_ALG, TPM_ECC_CURVE } from '../tpm/constants.ts';
import { makeCredential } from '../tpm/credential.ts';
import { TPM_RH, type TpmDevice } from '../tpm/device.ts';
import {
  checkAttestationKeyTemplate,
  encodeTpmPublic,
  parseTpmPublic,
  toPublicKey,
  tpmName,
  type TpmPublic,
} from '../tpm/public.ts';
import type { InstanceInfo } from '../x509/instance-info.ts';
import type { PlatformCa } from './platform-ca.ts';

/** PolicySecret(TPM_RH_ENDORSEMENT): the authPolicy of the default EK templates (TCG EK Credential Profile 2.0). */
const EK_AUTH_POLICY = Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex');
/** fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt. */
const EK_ATTRIBUTES = 0x000300b2;
const CREDENTIAL_BYTES = 32;

/** The EK templates of the TCG EK Credential Profile: L-1 (RSA 2048) and L-2 (ECC NIST P-256). */
export function ekTemplate(kind: 'rsa' | 'ecc'): Buffer {
  const common = {
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: EK_ATTRIBUTES,
    authPolicy: EK_AUTH_POLICY,
    symmetric: { alg: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
    scheme: { scheme: TPM_ALG.NULL },
  };
  if (kind === 'rsa') {
    return encodeTpmPublic({ ...common, type: TPM_ALG.RSA, keyBits: 2048, exponent: 0, modulus: new Uint8Array(256) });
  }
  return encodeTpmPublic({
    ...common,
    type: TPM_ALG.ECC,
    curveId: TPM_ECC_CURVE.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL },
    x: new Uint8Array(32),
    y: new Uint8Array(32),
  });
}

function enrolmentFailed(message: string, cause?: unknown): never {
  throw new AttestError('ERR_ATTEST_AK_ENROLMENT', `AK enrolment: ${message}.`, cause === undefined ? {} : { cause });
}

/** The EK must be a restricted decryption key with AES-CFB: what MakeCredential protects a seed with. */
function checkEk(ek: TpmPublic): void {
  const restrictedDecrypt = (1 << 16) | (1 << 17);
  if ((ek.objectAttributes & restrictedDecrypt) !== restrictedDecrypt || (ek.objectAttributes & (1 << 18)) !== 0) {
    enrolmentFailed('the endorsement key is not a restricted decryption key');
  }
}

export interface AkEnrolmentChallenge {
  readonly credentialBlob: Buffer;
  readonly secret: Buffer;
  /** Certifies the AK if `recovered` is the credential the challenge wrapped (constant-time comparison). */
  complete(recovered: Uint8Array, instance: InstanceInfo, nowMs: number): Buffer;
}

/**
 * The CA's side: a credential for the AK's name under the EK. Only a TPM that holds both keys recovers it; the
 * certificate is issued for the AK in `akPublicArea` and nothing else.
 */
export function beginAkEnrolment(
  ca: PlatformCa,
  ekPublicArea: Uint8Array,
  akPublicArea: Uint8Array,
): AkEnrolmentChallenge {
  const ek = parseTpmPublic(ekPublicArea);
  checkEk(ek);
  const ak = parseTpmPublic(akPublicArea);
  checkAttestationKeyTemplate(ak);
  const credential = randomBytes(CREDENTIAL_BYTES);
  const made = makeCredential(ek, tpmName(akPublicArea, ak.nameAlg), credential);
  return {
    ...made,
    complete(recovered, instance, nowMs) {
      if (recovered.length !== credential.length || !timingSafeEqual(recovered, credential)) {
        enrolmentFailed('the TPM did not recover the credential');
      }
      return ca.issueAkCertificate(toPublicKey(ak), instance, nowMs);
    },
  };
}

/** A challenge the CA's side answered elsewhere (the host agent): `complete` sends the recovered credential. */
export interface RemoteAkChallenge {
  readonly credentialBlob: Buffer;
  readonly secret: Buffer;
  complete(recovered: Buffer): Promise<Buffer>;
}

/**
 * The CA's side of the enrolment in another process: it runs `beginAkEnrolment` with its CA and certifies the AK
 * for the instance it knows, so the CA's private key never enters the process that holds the TPM.
 */
export type AkEnroller = (ekPublicArea: Buffer, akPublicArea: Buffer) => Promise<RemoteAkChallenge>;

function localChallenge(challenge: AkEnrolmentChallenge, instance: InstanceInfo, nowMs: number): RemoteAkChallenge {
  return {
    credentialBlob: challenge.credentialBlob,
    secret: challenge.secret,
    complete: async (recovered) => challenge.complete(recovered, instance, nowMs),
  };
}

export interface EnrolAkOptions {
  readonly tpm: TpmDevice;
  /** The CA here (with the instance and time to certify for), or the CA's side in another process. */
  readonly ca: PlatformCa | AkEnroller;
  readonly akHandle: number;
  readonly akPublicArea: Uint8Array;
  readonly instance: InstanceInfo;
  readonly nowMs: number;
  /** The EK template (from NV when the manufacturer left one; the RSA default otherwise). */
  readonly ekTemplate?: Uint8Array;
}

/**
 * The TPM's side and the CA's, on one machine: the EK is made from its template, the CA wraps a credential
 * for the AK under it, the TPM activates it (the EK's policy satisfied by PolicySecret), and only then is the
 * AK certified.
 */
export async function enrolAttestationKey(
  options: EnrolAkOptions,
): Promise<{ certificate: Buffer; ekPublicArea: Buffer }> {
  const { tpm } = options;
  const ek = await tpm.createPrimary(TPM_RH.ENDORSEMENT, options.ekTemplate ?? ekTemplate('rsa'));
  try {
    const { ca } = options;
    const challenge: RemoteAkChallenge =
      typeof ca === 'function'
        ? await ca(ek.publicArea, Buffer.from(options.akPublicArea))
        : localChallenge(beginAkEnrolment(ca, ek.publicArea, options.akPublicArea), options.instance, options.nowMs);
    const session = await tpm.startPolicySession();
    let recovered: Buffer;
    try {
      await tpm.policySecretEndorsement(session);
      recovered = await tpm.activateCredential(
        options.akHandle,
        ek.handle,
        session,
        challenge.credentialBlob,
        challenge.secret,
      );
    } catch (error) {
      await tpm.flush(session).catch(() => undefined);
      if (error instanceof AttestError && error.code === 'ERR_ATTEST_TPM_DEVICE') {
        enrolmentFailed(`the TPM could not activate the credential for this AK and EK (${error.message})`, error);
      }
      throw error;
    }
    return { certificate: await challenge.complete(recovered), ekPublicArea: ek.publicArea };
  } finally {
    await tpm.flush(ek.handle).catch(() => undefined);
  }
}
