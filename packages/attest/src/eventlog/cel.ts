// TCG Canonical Event Log, TLV encoding (TCG CEL §5; google/go-eventlog `cel`): records, encode, decode, replay.
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from '../tpm/bytes.ts';
import { digest, findHash } from '../tpm/constants.ts';

/** Top-level TLV types of a CEL record. */
export const CEL_TYPE = { RECNUM: 0x00, PCR: 0x01, DIGESTS: 0x03, CCMR: 0x6c, COS_CONTENT: 0x50 } as const;

export type CelIndexType = typeof CEL_TYPE.PCR | typeof CEL_TYPE.CCMR;

export interface CelRecord {
  readonly recnum: bigint;
  readonly indexType: CelIndexType;
  readonly index: number;
  /** TPM_ALG_ID → digest, in the order the record lists them. */
  readonly digests: ReadonlyMap<number, Uint8Array>;
  /** The whole content TLV (type, length, value): what each digest is computed over. */
  readonly content: Uint8Array;
  readonly contentType: number;
  readonly contentValue: Uint8Array;
}

/** Far above any launcher's log; bounds allocation on hostile input. */
const MAX_TLV_BYTES = 4 * 1024 * 1024;

function readTlv(reader: ByteReader): { type: number; value: Uint8Array; raw: Uint8Array } {
  const start = reader.offset;
  const type = reader.u8();
  const length = reader.u32();
  if (length > MAX_TLV_BYTES) reader.fail(`TLV length ${length}`);
  const value = reader.take(length);
  return { type, value, raw: reader.bytes.subarray(start, reader.offset) };
}

export function writeTlv(writer: ByteWriter, type: number, value: Uint8Array): ByteWriter {
  return writer.u8(type).u32(value.length).bytes(value);
}

export function tlv(type: number, value: Uint8Array): Buffer {
  return writeTlv(new ByteWriter(), type, value).finish();
}

function expectType(reader: ByteReader, got: number, want: number, what: string): void {
  if (got !== want) reader.fail(`${what}: TLV type 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
}

export function decodeCel(bytes: Uint8Array): CelRecord[] {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_CEL', 'Canonical event log');
  const records: CelRecord[] = [];
  while (reader.remaining > 0) {
    const recnumTlv = readTlv(reader);
    expectType(reader, recnumTlv.type, CEL_TYPE.RECNUM, 'recnum');
    if (recnumTlv.value.length !== 8) reader.fail('recnum is not 8 bytes');
    const recnum = Buffer.from(recnumTlv.value).readBigUInt64BE();
    if (recnum !== BigInt(records.length)) reader.fail(`record number ${recnum}, expected ${records.length}`);
    const indexTlv = readTlv(reader);
    if (indexTlv.type !== CEL_TYPE.PCR && indexTlv.type !== CEL_TYPE.CCMR)
      reader.fail('index TLV is neither PCR nor CCMR');
    if (indexTlv.value.length !== 1) reader.fail('index is not 1 byte');
    const digestsTlv = readTlv(reader);
    expectType(reader, digestsTlv.type, CEL_TYPE.DIGESTS, 'digests');
    const digests = new Map<number, Uint8Array>();
    const inner = new ByteReader(digestsTlv.value, 'ERR_ATTEST_MALFORMED_CEL', 'CEL digests');
    while (inner.remaining > 0) {
      const d = readTlv(inner);
      if (digests.has(d.type)) inner.fail('the same digest algorithm twice');
      digests.set(d.type, d.value);
    }
    const contentTlv = readTlv(reader);
    records.push({
      recnum,
      indexType: indexTlv.type as CelIndexType,
      index: indexTlv.value[0]!,
      digests,
      content: contentTlv.raw,
      contentType: contentTlv.type,
      contentValue: contentTlv.value,
    });
  }
  return records;
}

export interface CelRecordInput {
  readonly recnum: bigint;
  readonly indexType: CelIndexType;
  readonly index: number;
  readonly digests: ReadonlyMap<number, Uint8Array>;
  /** The whole content TLV. */
  readonly content: Uint8Array;
}

export function encodeCelRecord(record: CelRecordInput): Buffer {
  const recnum = Buffer.alloc(8);
  recnum.writeBigUInt64BE(record.recnum);
  const digests = new ByteWriter();
  for (const [alg, value] of record.digests) writeTlv(digests, alg, value);
  const writer = new ByteWriter();
  writeTlv(writer, CEL_TYPE.RECNUM, recnum);
  writeTlv(writer, record.indexType, Uint8Array.of(record.index));
  writeTlv(writer, CEL_TYPE.DIGESTS, digests.finish());
  return writer.bytes(record.content).finish();
}

export function encodeCel(records: readonly CelRecordInput[]): Buffer {
  return Buffer.concat(records.map(encodeCelRecord));
}

/** Builds the record for `content` (a whole content TLV) with its digest in each bank. */
export function celRecordFor(
  recnum: bigint,
  indexType: CelIndexType,
  index: number,
  content: Uint8Array,
  algs: readonly number[],
): CelRecordInput {
  return { recnum, indexType, index, content, digests: new Map(algs.map((alg) => [alg, digest(alg, content)])) };
}

/**
 * Replays the records into one register of one bank: MR = H(MR || digest) from zeros. Every record must be
 * for that register and carry that bank's digest.
 */
export function replayCel(records: readonly CelRecord[], alg: number, indexType: CelIndexType, index: number): Buffer {
  const hash = findHash(alg);
  if (hash === undefined) {
    throw new AttestError('ERR_ATTEST_UNSUPPORTED_ALGORITHM', `Unsupported CEL bank 0x${alg.toString(16)}.`);
  }
  let register: Buffer = Buffer.alloc(hash.size);
  for (const record of records) {
    const value = record.digests.get(alg);
    if (record.indexType !== indexType || record.index !== index) {
      throw new AttestError('ERR_ATTEST_CEL_REJECTED', `CEL record ${record.recnum} is for another register.`);
    }
    if (value === undefined || value.length !== hash.size) {
      throw new AttestError('ERR_ATTEST_CEL_REJECTED', `CEL record ${record.recnum} has no ${hash.name} digest.`);
    }
    register = digest(alg, register, value);
  }
  return register;
}
