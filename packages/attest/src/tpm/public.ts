// TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4) for RSA and ECC keys, parsed, produced and turned into a node KeyObject.
import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { TPM_ALG, TPM_ECC_CURVE, digest, findHash } from './constants.ts';

/** TPMT_SYM_DEF_OBJECT: NULL, or an algorithm with key bits and mode. */
export interface SymDef {
  readonly alg: number;
  readonly keyBits?: number;
  readonly mode?: number;
}

/** A signing or key-exchange scheme: NULL, or an algorithm with a hash (ECDAA adds a count). */
export interface SchemeDef {
  readonly scheme: number;
  readonly hashAlg?: number;
  readonly count?: number;
}

interface PublicCommon {
  readonly nameAlg: number;
  readonly objectAttributes: number;
  readonly authPolicy: Uint8Array;
  readonly symmetric: SymDef;
  readonly scheme: SchemeDef;
}

export interface RsaPublic extends PublicCommon {
  readonly type: typeof TPM_ALG.RSA;
  readonly keyBits: number;
  /** 0 means the default 65537, as the TPM encodes it. */
  readonly exponent: number;
  readonly modulus: Uint8Array;
}

export interface EccPublic extends PublicCommon {
  readonly type: typeof TPM_ALG.ECC;
  readonly curveId: number;
  readonly kdf: SchemeDef;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export type TpmPublic = RsaPublic | EccPublic;

const CURVES: Readonly<Record<number, { jwk: string; size: number }>> = {
  [TPM_ECC_CURVE.NIST_P256]: { jwk: 'P-256', size: 32 },
  [TPM_ECC_CURVE.NIST_P384]: { jwk: 'P-384', size: 48 },
  [TPM_ECC_CURVE.NIST_P521]: { jwk: 'P-521', size: 66 },
};

function readSym(reader: ByteReader): SymDef {
  const alg = reader.u16();
  if (alg === TPM_ALG.NULL) return { alg };
  return { alg, keyBits: reader.u16(), mode: reader.u16() };
}

function readScheme(reader: ByteReader): SchemeDef {
  const scheme = reader.u16();
  if (scheme === TPM_ALG.NULL) return { scheme };
  const hashAlg = reader.u16();
  if (scheme === TPM_ALG.ECDAA) return { scheme, hashAlg, count: reader.u16() };
  return { scheme, hashAlg };
}

function writeSym(writer: ByteWriter, sym: SymDef): void {
  writer.u16(sym.alg);
  if (sym.alg !== TPM_ALG.NULL) writer.u16(sym.keyBits ?? 0).u16(sym.mode ?? 0);
}

function writeScheme(writer: ByteWriter, scheme: SchemeDef): void {
  writer.u16(scheme.scheme);
  if (scheme.scheme === TPM_ALG.NULL) return;
  writer.u16(scheme.hashAlg ?? 0);
  if (scheme.scheme === TPM_ALG.ECDAA) writer.u16(scheme.count ?? 0);
}

export function parseTpmPublic(bytes: Uint8Array): TpmPublic {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_TPM', 'TPMT_PUBLIC');
  const type = reader.u16();
  const nameAlg = reader.u16();
  const objectAttributes = reader.u32();
  const authPolicy = reader.sized(64);
  let out: TpmPublic;
  if (type === TPM_ALG.RSA) {
    const symmetric = readSym(reader);
    const scheme = readScheme(reader);
    const keyBits = reader.u16();
    const exponent = reader.u32();
    const modulus = reader.sized(1024);
    out = { type, nameAlg, objectAttributes, authPolicy, symmetric, scheme, keyBits, exponent, modulus };
  } else if (type === TPM_ALG.ECC) {
    const symmetric = readSym(reader);
    const scheme = readScheme(reader);
    const curveId = reader.u16();
    const kdf = readScheme(reader);
    const x = reader.sized(66);
    const y = reader.sized(66);
    out = { type, nameAlg, objectAttributes, authPolicy, symmetric, scheme, curveId, kdf, x, y };
  } else {
    throw new AttestError(
      'ERR_ATTEST_UNSUPPORTED_ALGORITHM',
      `TPMT_PUBLIC: key type 0x${type.toString(16)} is not RSA or ECC.`,
    );
  }
  reader.end();
  return out;
}

export function encodeTpmPublic(pub: TpmPublic): Buffer {
  const writer = new ByteWriter().u16(pub.type).u16(pub.nameAlg).u32(pub.objectAttributes).sized(pub.authPolicy);
  writeSym(writer, pub.symmetric);
  writeScheme(writer, pub.scheme);
  if (pub.type === TPM_ALG.RSA) {
    writer.u16(pub.keyBits).u32(pub.exponent).sized(pub.modulus);
  } else {
    writer.u16(pub.curveId);
    writeScheme(writer, pub.kdf);
    writer.sized(pub.x).sized(pub.y);
  }
  return writer.finish();
}

function padTo(value: Uint8Array, size: number): Buffer {
  if (value.length > size) throw new AttestError('ERR_ATTEST_MALFORMED_TPM', 'TPMT_PUBLIC: ECC point too long.');
  const out = Buffer.alloc(size);
  out.set(value, size - value.length);
  return out;
}

/** The public key a TPMT_PUBLIC describes, as a node KeyObject. */
export function toPublicKey(pub: TpmPublic): KeyObject {
  try {
    if (pub.type === TPM_ALG.RSA) {
      const exponent = pub.exponent === 0 ? 65537 : pub.exponent;
      const e = Buffer.alloc(4);
      e.writeUInt32BE(exponent);
      const trimmed = e.subarray(e.findIndex((b) => b !== 0));
      return createPublicKey({
        key: { kty: 'RSA', n: Buffer.from(pub.modulus).toString('base64url'), e: trimmed.toString('base64url') },
        format: 'jwk',
      });
    }
    const curve = CURVES[pub.curveId];
    if (curve === undefined) {
      throw new AttestError(
        'ERR_ATTEST_UNSUPPORTED_ALGORITHM',
        `TPMT_PUBLIC: ECC curve 0x${pub.curveId.toString(16)}.`,
      );
    }
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: curve.jwk,
        x: padTo(pub.x, curve.size).toString('base64url'),
        y: padTo(pub.y, curve.size).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch (error) {
    if (error instanceof AttestError) throw error;
    throw new AttestError('ERR_ATTEST_MALFORMED_TPM', 'TPMT_PUBLIC: not a valid public key.', { cause: error });
  }
}

/**
 * A key's JWK, exported once per key object (~30 µs each time): an AK certificate's key is the same object in
 * every attestation while its verified chain is kept.
 */
const exportedJwks = new WeakMap<KeyObject, JsonWebKey>();

function jwkOf(key: KeyObject): JsonWebKey {
  let jwk = exportedJwks.get(key);
  if (jwk === undefined) {
    jwk = Object.freeze(key.export({ format: 'jwk' }));
    exportedJwks.set(key, jwk);
  }
  return jwk;
}

/**
 * Whether `pub` describes the same key as `key`, compared field by field against the key's JWK (an
 * order of magnitude cheaper than importing the TPM key).
 */
export function matchesPublicKey(pub: TpmPublic, key: KeyObject): boolean {
  const jwk = jwkOf(key);
  const same = (a: Uint8Array, b: string | undefined): boolean => {
    if (b === undefined) return false;
    const other = Buffer.from(b, 'base64url');
    let start = 0;
    while (start < a.length - 1 && a[start] === 0) start++;
    return other.equals(a.subarray(start)) || other.equals(a);
  };
  if (pub.type === TPM_ALG.RSA) {
    const exponent = pub.exponent === 0 ? 65537 : pub.exponent;
    const e = Buffer.from(jwk.e ?? '', 'base64url').reduce((acc, byte) => acc * 256 + byte, 0);
    return jwk.kty === 'RSA' && e === exponent && same(pub.modulus, jwk.n);
  }
  const curve = CURVES[pub.curveId];
  return (
    jwk.kty === 'EC' &&
    curve !== undefined &&
    jwk.crv === curve.jwk &&
    Buffer.from(jwk.x ?? '', 'base64url').equals(padTo(pub.x, curve.size)) &&
    Buffer.from(jwk.y ?? '', 'base64url').equals(padTo(pub.y, curve.size))
  );
}

/** The default attributes of an attestation key: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign. */
export const AK_OBJECT_ATTRIBUTES = 0x00050072;

/** TPMA_OBJECT (Part 2 §8.3): what an attestation key must have, and what it may have besides. */
const AK_REQUIRED = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 16) | (1 << 18); // fixedTPM fixedParent sensitiveDataOrigin restricted sign
const AK_OPTIONAL = (1 << 2) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 11); // stClear userWithAuth adminWithPolicy noDA encryptedDuplication

/**
 * Checks that a TPMT_PUBLIC describes an attestation key: a restricted signing key that never leaves its
 * TPM (so it signs only structures the TPM made, such as quotes), no symmetric part, and a scheme the
 * verifier checks. Throws ERR_ATTEST_AK_ATTRIBUTES.
 */
export function checkAttestationKeyTemplate(pub: TpmPublic): void {
  const refuse = (why: string): never => {
    throw new AttestError('ERR_ATTEST_AK_ATTRIBUTES', `The AK public area ${why}.`);
  };
  if (findHash(pub.nameAlg) === undefined) refuse('has an unknown nameAlg');
  if (
    (pub.objectAttributes & AK_REQUIRED) >>> 0 !== AK_REQUIRED ||
    (pub.objectAttributes & ~(AK_REQUIRED | AK_OPTIONAL)) !== 0
  ) {
    refuse('is not a restricted signing key fixed to its TPM');
  }
  if (pub.symmetric.alg !== TPM_ALG.NULL) refuse('has a symmetric algorithm');
  const schemes: readonly number[] = pub.type === TPM_ALG.RSA ? [TPM_ALG.RSASSA, TPM_ALG.RSAPSS] : [TPM_ALG.ECDSA];
  const { scheme, hashAlg } = pub.scheme;
  if (
    scheme !== TPM_ALG.NULL &&
    (!schemes.includes(scheme) || hashAlg === undefined || findHash(hashAlg) === undefined)
  ) {
    refuse('has a signing scheme the verifier does not check');
  }
  if (pub.type === TPM_ALG.RSA && pub.keyBits !== pub.modulus.length * 8)
    refuse('has a keyBits that is not its modulus size');
  if (pub.type === TPM_ALG.ECC && pub.kdf.scheme !== TPM_ALG.NULL) refuse('has a key derivation scheme');
}

/** The TPMT_PUBLIC of an attestation key whose public half is `key` (ECC P-256/P-384 or RSA). */
export function fromPublicKey(key: KeyObject, signHashAlg: number = TPM_ALG.SHA256): TpmPublic {
  const jwk = key.export({ format: 'jwk' });
  const common = {
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: AK_OBJECT_ATTRIBUTES,
    authPolicy: new Uint8Array(0),
    symmetric: { alg: TPM_ALG.NULL },
  };
  if (jwk.kty === 'RSA') {
    const modulus = Buffer.from(jwk.n!, 'base64url');
    const e = Buffer.from(jwk.e!, 'base64url');
    const exponent = e.reduce((acc, b) => acc * 256 + b, 0);
    return {
      ...common,
      type: TPM_ALG.RSA,
      scheme: { scheme: TPM_ALG.RSASSA, hashAlg: signHashAlg },
      keyBits: modulus.length * 8,
      exponent: exponent === 65537 ? 0 : exponent,
      modulus,
    };
  }
  const curveId = jwk.crv === 'P-256' ? TPM_ECC_CURVE.NIST_P256 : jwk.crv === 'P-384' ? TPM_ECC_CURVE.NIST_P384 : -1;
  if (curveId < 0) throw new AttestError('ERR_ATTEST_UNSUPPORTED_ALGORITHM', `Unsupported AK curve ${jwk.crv}.`);
  return {
    ...common,
    type: TPM_ALG.ECC,
    scheme: { scheme: TPM_ALG.ECDSA, hashAlg: signHashAlg },
    curveId,
    kdf: { scheme: TPM_ALG.NULL },
    x: Buffer.from(jwk.x!, 'base64url'),
    y: Buffer.from(jwk.y!, 'base64url'),
  };
}

/** The TPM name of an object: nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16). */
export function tpmName(publicArea: Uint8Array, nameAlg: number): Buffer {
  const alg = Buffer.alloc(2);
  alg.writeUInt16BE(nameAlg);
  return Buffer.concat([alg, digest(nameAlg, publicArea)]);
}
