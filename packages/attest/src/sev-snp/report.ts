// AMD SEV-SNP ATTESTATION_REPORT: a total parser of the 1184-byte little-endian structure as the SEV-SNP firmware ABI lays it out.
import { AttestError } from '../errors.ts';

/** Every known report version (2 to 5) has this size and signs the same range. */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes 0x000–0x29F. */
export const SNP_SIGNED_SIZE = 0x2a0;
export const SNP_MIN_VERSION = 2;
/** Versions 3 and 5 added fields (CPUID identity, mitigation vectors) in what version 2 reserves. */
export const SNP_MAX_VERSION = 5;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
const SIG_ALGO_ECDSA_P384_SHA384 = 1;

export type SnpSigningKey = 'VCEK' | 'VLEK' | 'NONE';

/** A TCB_VERSION, decoded with the layout of its processor generation. */
export interface SnpTcb {
  readonly raw: bigint;
  readonly bootloader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  /** Turin and later: the FMC firmware SVN. */
  readonly fmc?: number;
}

export interface SnpPolicy {
  readonly raw: bigint;
  readonly abiMinor: number;
  readonly abiMajor: number;
  readonly smt: boolean;
  /** Bit 17 is reserved and must be one. */
  readonly reservedOne: boolean;
  readonly migrateMa: boolean;
  readonly debug: boolean;
  readonly singleSocket: boolean;
}

export interface SnpReport {
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: SnpPolicy;
  readonly familyId: Buffer;
  readonly imageId: Buffer;
  readonly vmpl: number;
  readonly currentTcbRaw: bigint;
  readonly platformInfo: bigint;
  readonly signingKey: SnpSigningKey;
  readonly authorKeyEnabled: boolean;
  readonly maskChipKey: boolean;
  readonly reportData: Buffer;
  readonly measurement: Buffer;
  readonly hostData: Buffer;
  readonly idKeyDigest: Buffer;
  readonly authorKeyDigest: Buffer;
  readonly reportId: Buffer;
  readonly reportIdMa: Buffer;
  readonly reportedTcbRaw: bigint;
  readonly committedTcbRaw: bigint;
  readonly launchTcbRaw: bigint;
  /** Version 3 and later: CPUID family, model and stepping of the chip; undefined before. */
  readonly cpuid?: { readonly family: number; readonly model: number; readonly stepping: number };
  readonly chipId: Buffer;
  /** The signed bytes 0x000–0x29F. */
  readonly signed: Buffer;
  /** R‖S, each 48 bytes big-endian: the IEEE P1363 form WebCrypto and node:crypto verify. */
  readonly signature: Buffer;
}

function fail(message: string): never {
  throw new AttestError('ERR_ATTEST_SNP_MALFORMED', `SEV-SNP report: ${message}.`);
}

/** A 72-byte little-endian scalar as 48 bytes big-endian; the upper 24 bytes must be zero for P-384. */
function scalarP384(le: Buffer, name: string): Buffer {
  if (le.subarray(48).some((b) => b !== 0)) fail(`signature ${name} does not fit P-384`);
  return Buffer.from(le.subarray(0, 48)).reverse();
}

function decodePolicy(raw: bigint): SnpPolicy {
  const bit = (n: number): boolean => ((raw >> BigInt(n)) & 1n) === 1n;
  return {
    raw,
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smt: bit(16),
    reservedOne: bit(17),
    migrateMa: bit(18),
    debug: bit(19),
    singleSocket: bit(20),
  };
}

const SIGNING_KEYS: Record<number, SnpSigningKey> = { 0: 'VCEK', 1: 'VLEK', 7: 'NONE' };

/** Parses a report; refuses any other length, version or signature algorithm (never partially). */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length !== SNP_REPORT_SIZE) fail(`${bytes.length} bytes, expected ${SNP_REPORT_SIZE}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = b.readUInt32LE(0x00);
  if (version < SNP_MIN_VERSION || version > SNP_MAX_VERSION) {
    throw new AttestError('ERR_ATTEST_SNP_VERSION', `SEV-SNP report version ${version} is not supported.`);
  }
  if (b.readUInt32LE(0x34) !== SIG_ALGO_ECDSA_P384_SHA384) fail('signature algorithm is not ECDSA P-384 SHA-384');
  if (b.subarray(0x330).some((x) => x !== 0)) fail('bytes after the signature are not zero');
  const signerInfo = b.readUInt32LE(0x48);
  const keyField = (signerInfo >> 2) & 0x7;
  const signingKey = SIGNING_KEYS[keyField];
  if (signingKey === undefined) {
    throw new AttestError('ERR_ATTEST_SNP_SIGNER', `SEV-SNP report signer_info names key ${keyField}.`);
  }
  const copy = (start: number, length: number): Buffer => Buffer.from(b.subarray(start, start + length));
  return {
    version,
    guestSvn: b.readUInt32LE(0x04),
    policy: decodePolicy(b.readBigUInt64LE(0x08)),
    familyId: copy(0x10, 16),
    imageId: copy(0x20, 16),
    vmpl: b.readUInt32LE(0x30),
    currentTcbRaw: b.readBigUInt64LE(0x38),
    platformInfo: b.readBigUInt64LE(0x40),
    signingKey,
    authorKeyEnabled: (signerInfo & 1) === 1,
    maskChipKey: (signerInfo & 2) === 2,
    reportData: copy(0x50, 64),
    measurement: copy(0x90, 48),
    hostData: copy(0xc0, 32),
    idKeyDigest: copy(0xe0, 48),
    authorKeyDigest: copy(0x110, 48),
    reportId: copy(0x140, 32),
    reportIdMa: copy(0x160, 32),
    reportedTcbRaw: b.readBigUInt64LE(0x180),
    ...(version >= 3 ? { cpuid: { family: b[0x188]!, model: b[0x189]!, stepping: b[0x18a]! } } : {}),
    chipId: copy(0x1a0, 64),
    committedTcbRaw: b.readBigUInt64LE(0x1e0),
    launchTcbRaw: b.readBigUInt64LE(0x1f0),
    signed: copy(0, SNP_SIGNED_SIZE),
    signature: Buffer.concat([scalarP384(copy(0x2a0, 72), 'R'), scalarP384(copy(0x2e8, 72), 'S')]),
  };
}

/** The processor generations whose TCB layout and AMD root Sealroom knows. */
export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';
export const SNP_PRODUCTS: readonly SnpProduct[] = ['Milan', 'Genoa', 'Turin'];

/**
 * Decodes a TCB_VERSION. Milan and Genoa: byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode. Turin: byte 0 FMC,
 * 1 boot loader, 2 TEE, 3 SNP, 7 microcode.
 */
export function decodeSnpTcb(raw: bigint, product: SnpProduct): SnpTcb {
  const byte = (n: number): number => Number((raw >> BigInt(8 * n)) & 0xffn);
  if (product === 'Turin') {
    return { raw, fmc: byte(0), bootloader: byte(1), tee: byte(2), snp: byte(3), microcode: byte(7) };
  }
  return { raw, bootloader: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7) };
}

/** CPUID family/model of each product (AMD Family 19h models 00h–0Fh Milan, 10h–1Fh and A0h–AFh Genoa; 1Ah Turin). */
export function productOfCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19 && model <= 0x0f) return 'Milan';
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return 'Genoa';
  if (family === 0x1a && model <= 0x1f) return 'Turin';
  return undefined;
}
