// The SEV-SNP certificate table (configfs-tsm auxblob, GHCB extended guest request): GUID-tagged certificates.
import { AttestError } from '../errors.ts';

/** GUIDs of the table's entries (AMD GHCB specification, "SNP Extended Guest Request"), RFC 4122 byte order. */
export const SNP_CERT_GUID = {
  VCEK: '63da758d-e664-4564-adc5-f4b93be8accd',
  VLEK: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ASK: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ARK: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

const ENTRY_BYTES = 24;
/** A table is a few certificates; anything beyond this is not one the host should send. */
const MAX_TABLE_BYTES = 64 * 1024;
const MAX_ENTRIES = 32;

export interface SnpCertTableEntry {
  readonly guid: string;
  readonly kind?: keyof typeof SNP_CERT_GUID;
  readonly der: Buffer;
}

function guidText(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function guidBytes(guid: string): Buffer {
  return Buffer.from(guid.replaceAll('-', ''), 'hex');
}

function malformed(message: string): never {
  throw new AttestError('ERR_ATTEST_SNP_CERT_TABLE', `SEV-SNP certificate table: ${message}.`);
}

/**
 * Parses a certificate table: entries of GUID (16 bytes), offset and length (u32 little-endian, from the
 * table's start), ended by an all-zero entry. An empty blob is an empty table (the host supplied none).
 */
export function parseSnpCertTable(blob: Uint8Array): SnpCertTableEntry[] {
  const b = Buffer.from(blob);
  if (b.length === 0) return [];
  if (b.length > MAX_TABLE_BYTES) malformed('larger than 64 KiB');
  const entries: SnpCertTableEntry[] = [];
  for (let at = 0; ; at += ENTRY_BYTES) {
    if (at + ENTRY_BYTES > b.length) malformed('no terminating entry');
    const guid = b.subarray(at, at + 16);
    const offset = b.readUInt32LE(at + 16);
    const length = b.readUInt32LE(at + 20);
    if (guid.every((x) => x === 0) && offset === 0 && length === 0) break;
    if (entries.length === MAX_ENTRIES) malformed(`more than ${MAX_ENTRIES} entries`);
    if (offset < ENTRY_BYTES * 2 || offset + length > b.length || length === 0) {
      malformed(`entry ${entries.length} points outside the table`);
    }
    const text = guidText(guid);
    const kind = (Object.keys(SNP_CERT_GUID) as (keyof typeof SNP_CERT_GUID)[]).find((k) => SNP_CERT_GUID[k] === text);
    entries.push({ guid: text, ...(kind === undefined ? {} : { kind }), der: b.subarray(offset, offset + length) });
  }
  return entries;
}

/** Encodes a table (what a host puts in auxblob); used to build test imitations and by tools. */
export function encodeSnpCertTable(entries: ReadonlyArray<{ guid: string; der: Uint8Array }>): Buffer {
  const header = Buffer.alloc(ENTRY_BYTES * (entries.length + 1));
  let offset = header.length;
  entries.forEach((entry, i) => {
    guidBytes(entry.guid).copy(header, i * ENTRY_BYTES);
    header.writeUInt32LE(offset, i * ENTRY_BYTES + 16);
    header.writeUInt32LE(entry.der.length, i * ENTRY_BYTES + 20);
    offset += entry.der.length;
  });
  return Buffer.concat([header, ...entries.map((e) => Buffer.from(e.der))]);
}
