// PKCS#10 certification requests (RFC 2986) for host enrolment: a host proves it holds the key it asks a certificate for.
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import {
  DER_TAG,
  derBitString,
  derExplicit,
  derInteger,
  derOid,
  derSequence,
  encodeName,
  expectTag,
  parseDer,
  readChildren,
  toBigInt,
  toOid,
  toText,
} from '@sealroom/formats';
import { ComputeError } from '../errors.ts';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
/** A request larger than this is not a host's CSR. */
const MAX_CSR_BYTES = 8192;

/** Builds a CSR for an EC P-256 key: subject CN = `commonName`, no attributes, signed ECDSA with SHA-256. */
export function createCertificateRequest(privateKey: KeyObject, commonName: string): Buffer {
  const publicKey = createPublicKey(privateKey);
  const info = derSequence(
    derInteger(0),
    encodeName(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    derExplicit(0),
  );
  const signature = sign('sha256', info, privateKey);
  return derSequence(info, derSequence(derOid(ECDSA_WITH_SHA256)), derBitString(signature));
}

export interface CertificateRequest {
  readonly publicKey: KeyObject;
  readonly commonName: string;
}

/** Parses a CSR and checks its self-signature (proof of possession); anything else is refused. */
export function parseCertificateRequest(bytes: Uint8Array): CertificateRequest {
  const bad = (why: string, cause?: unknown): never => {
    throw new ComputeError('ERR_COMPUTE_HOST_CSR', `The certification request is not valid: ${why}.`, {
      ...(cause === undefined ? {} : { cause }),
    });
  };
  if (bytes.length > MAX_CSR_BYTES) bad('too large');
  try {
    const top = parseDer(bytes);
    const [info, algorithm, signature] = readChildren(expectTag(top, DER_TAG.SEQUENCE, 'CertificationRequest'));
    if (!info || !algorithm || !signature) return bad('missing parts');
    const [version, subject, spki] = readChildren(expectTag(info, DER_TAG.SEQUENCE, 'CertificationRequestInfo'));
    if (!version || !subject || !spki || toBigInt(version) !== 0n) return bad('unsupported version');
    const [algorithmOid] = readChildren(expectTag(algorithm, DER_TAG.SEQUENCE, 'signatureAlgorithm'));
    if (!algorithmOid || toOid(algorithmOid) !== ECDSA_WITH_SHA256) return bad('only ecdsa-with-SHA256 is accepted');
    const publicKey = createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' });
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      return bad('the key must be EC P-256');
    const sigBits = expectTag(signature, DER_TAG.BIT_STRING, 'signature').value;
    if (sigBits[0] !== 0) return bad('the signature has unused bits');
    if (!verify('sha256', info.raw, publicKey, sigBits.subarray(1))) return bad('the signature does not verify');
    let commonName: string | undefined;
    for (const rdn of readChildren(expectTag(subject, DER_TAG.SEQUENCE, 'subject')))
      for (const attribute of readChildren(rdn)) {
        const [type, value] = readChildren(attribute);
        if (type && value && toOid(type) === COMMON_NAME) commonName = toText(value);
      }
    if (commonName === undefined) return bad('the subject has no common name');
    return { publicKey, commonName };
  } catch (error) {
    if (error instanceof ComputeError) throw error;
    return bad('malformed DER', error);
  }
}
