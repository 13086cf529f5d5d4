// UEFI structures inside TCG event data (UEFI 2.10 §32.4, TCG PC Client PFP §10.2.6): UEFI_VARIABLE_DATA,
// EFI_SIGNATURE_LIST and EFI_SIGNATURE_DATA, parsed and produced. Errors are boot-state refusals.
import { parseDer, readChildren } from '@sealroom/formats';
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from '../tpm/bytes.ts';

/** An EFI_GUID in its wire form (Data1–3 little-endian, Data4 as bytes) from its text form. */
export function efiGuid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  const out = Buffer.from(hex, 'hex');
  out.subarray(0, 4).reverse();
  out.subarray(4, 6).reverse();
  out.subarray(6, 8).reverse();
  return out;
}

export const EFI_GUID = {
  GLOBAL_VARIABLE: efiGuid('8be4df61-93ca-11d2-aa0d-00e098032b8c'),
  IMAGE_SECURITY_DATABASE: efiGuid('d719b2cb-3d3a-4596-a3bc-dad00e67656f'),
  SHIM_LOCK: efiGuid('605dab50-e046-4300-abb6-3dd810dd8b23'),
  CERT_X509: efiGuid('a5c059a1-94e4-4aa7-87b5-ab155c2bf072'),
  CERT_SHA256: efiGuid('c1c41626-504c-4092-aca9-41f936934328'),
} as const;

/** Bounds from go-eventlog's parser: no real variable name or value comes near them. */
const MAX_NAME_CHARS = 1024;
const MAX_DATA_BYTES = 1024 * 1024;
const LIST_HEADER_BYTES = 28;
const GUID_BYTES = 16;

export interface UefiVariable {
  /** VariableName: the vendor GUID, wire form. */
  readonly vendor: Buffer;
  readonly name: string;
  readonly data: Uint8Array;
}

function reader(bytes: Uint8Array, what: string): ByteReader {
  return new ByteReader(bytes, 'ERR_ATTEST_BOOT_STATE', what);
}

/**
 * UEFI_VARIABLE_DATA. Bytes after VariableData are left alone: the event digest covers them (shim logs
 * such bytes in its authority events) and nothing reads them.
 */
export function parseUefiVariable(bytes: Uint8Array): UefiVariable {
  const r = reader(bytes, 'UEFI_VARIABLE_DATA');
  const vendor = Buffer.from(r.take(GUID_BYTES));
  const nameChars = r.u64le();
  const dataLength = r.u64le();
  if (nameChars > MAX_NAME_CHARS) r.fail(`name of ${nameChars} characters`);
  if (dataLength > MAX_DATA_BYTES) r.fail(`data of ${dataLength} bytes`);
  const name = Buffer.from(r.take(nameChars * 2)).toString('utf16le');
  return { vendor, name, data: r.take(dataLength) };
}

export function encodeUefiVariable(variable: UefiVariable): Buffer {
  const name = Buffer.from(variable.name, 'utf16le');
  return new ByteWriter()
    .bytes(variable.vendor)
    .u64le(name.length / 2)
    .u64le(variable.data.length)
    .bytes(name)
    .bytes(variable.data)
    .finish();
}

/** A signature database (PK, KEK, db, dbx): X.509 certificates (DER) and SHA-256 image hashes. */
export interface SignatureDatabase {
  readonly certificates: readonly Uint8Array[];
  readonly hashes: readonly Uint8Array[];
}

/** Whether `bytes` is one DER Certificate: SEQUENCE { tbsCertificate, signatureAlgorithm, signature }. */
export function isCertificateDer(bytes: Uint8Array): boolean {
  try {
    const node = parseDer(bytes);
    return node.tag === 0x30 && readChildren(node).length === 3;
  } catch {
    return false;
  }
}

/**
 * A sequence of EFI_SIGNATURE_LISTs. Only X.509 and SHA-256 lists are accepted, as Google's verifier
 * does; each list's sizes must add up exactly. Shorter than one list header means an empty database.
 */
export function parseSignatureLists(bytes: Uint8Array): SignatureDatabase {
  const certificates: Uint8Array[] = [];
  const hashes: Uint8Array[] = [];
  if (bytes.length < LIST_HEADER_BYTES) return { certificates, hashes };
  const r = reader(bytes, 'EFI_SIGNATURE_LIST');
  while (r.remaining > 0) {
    const type = Buffer.from(r.take(GUID_BYTES));
    const listSize = r.u32le();
    const headerSize = r.u32le();
    const signatureSize = r.u32le();
    const body = listSize - LIST_HEADER_BYTES - headerSize;
    if (listSize > MAX_DATA_BYTES || body < 0) r.fail(`list size ${listSize}`);
    if (signatureSize <= GUID_BYTES || body % signatureSize !== 0) r.fail(`signature size ${signatureSize}`);
    const x509 = type.equals(EFI_GUID.CERT_X509);
    if (!x509 && !type.equals(EFI_GUID.CERT_SHA256)) r.fail('a signature type other than X.509 or SHA-256');
    if (!x509 && signatureSize !== GUID_BYTES + 32) r.fail(`SHA-256 signature size ${signatureSize}`);
    r.take(headerSize);
    for (let i = 0; i < body / signatureSize; i++) {
      r.take(GUID_BYTES); // SignatureOwner
      const data = r.take(signatureSize - GUID_BYTES);
      if (x509 && !isCertificateDer(data)) r.fail('an entry is not a DER certificate');
      (x509 ? certificates : hashes).push(data);
    }
  }
  return { certificates, hashes };
}

/** One EFI_SIGNATURE_LIST of X.509 certificates or SHA-256 hashes; entries of one list share one size. */
export function encodeSignatureList(type: Buffer, owner: Buffer, entries: readonly Uint8Array[]): Buffer {
  const size = GUID_BYTES + (entries[0]?.length ?? 0);
  if (entries.some((e) => GUID_BYTES + e.length !== size))
    throw new AttestError('ERR_ATTEST_ENCODE', 'the entries of one signature list must share a size');
  const writer = new ByteWriter()
    .bytes(type)
    .u32le(LIST_HEADER_BYTES + entries.length * size)
    .u32le(0)
    .u32le(size);
  for (const entry of entries) writer.bytes(owner).bytes(entry);
  return writer.finish();
}

/**
 * The certificate of an authority event's EFI_SIGNATURE_DATA. Some shims log the certificate without its
 * SignatureOwner GUID (go-attestation issue 157); `missingOwner` says so, since their digest then also
 * leaves out the event's last byte.
 */
export function parseAuthorityCertificate(data: Uint8Array): { certificate: Uint8Array; missingOwner: boolean } {
  if (data.length > GUID_BYTES && isCertificateDer(data.subarray(GUID_BYTES))) {
    return { certificate: data.subarray(GUID_BYTES), missingOwner: false };
  }
  if (isCertificateDer(data)) return { certificate: data, missingOwner: true };
  return reader(data, 'EFI_SIGNATURE_DATA').fail('the authority is not a DER certificate');
}
