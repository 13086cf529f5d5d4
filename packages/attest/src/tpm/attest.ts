// TPMS_ATTEST for quotes (TPM 2.0 Part 2 §10.12.12), parsed and produced byte-exactly.
import { ByteReader, ByteWriter } from './bytes.ts';
import { TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE } from './constants.ts';
import { readPcrSelectionList, writePcrSelectionList } from './pcr-selection.ts';
import type { PcrSelection } from './pcr-selection.ts';

/** TPMS_CLOCK_INFO (Part 2 §10.11.1). */
export interface ClockInfo {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

/** A TPMS_ATTEST whose type is TPM_ST_ATTEST_QUOTE, with its TPMS_QUOTE_INFO. */
export interface QuoteInfo {
  readonly qualifiedSigner: Uint8Array;
  readonly extraData: Uint8Array;
  readonly clockInfo: ClockInfo;
  readonly firmwareVersion: bigint;
  readonly pcrSelections: readonly PcrSelection[];
  readonly pcrDigest: Uint8Array;
}

/** TPM2B_NAME holds at most a hash algorithm plus a SHA-512 digest; TPM2B_DATA and TPM2B_DIGEST at most 64 bytes. */
const MAX_NAME = 2 + 64;
const MAX_DIGEST = 64;

export function parseQuoteInfo(bytes: Uint8Array): QuoteInfo {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_TPM', 'TPMS_ATTEST');
  const magic = reader.u32();
  if (magic !== TPM_GENERATED_VALUE) reader.fail('magic is not TPM_GENERATED_VALUE');
  const type = reader.u16();
  if (type !== TPM_ST_ATTEST_QUOTE) reader.fail(`type 0x${type.toString(16)} is not TPM_ST_ATTEST_QUOTE`);
  const qualifiedSigner = reader.sized(MAX_NAME);
  const extraData = reader.sized(MAX_DIGEST);
  const clock = reader.u64();
  const resetCount = reader.u32();
  const restartCount = reader.u32();
  const safeByte = reader.u8();
  if (safeByte > 1) reader.fail('TPMI_YES_NO is neither 0 nor 1');
  const firmwareVersion = reader.u64();
  const pcrSelections = readPcrSelectionList(reader);
  const pcrDigest = reader.sized(MAX_DIGEST);
  reader.end();
  return {
    qualifiedSigner,
    extraData,
    clockInfo: { clock, resetCount, restartCount, safe: safeByte === 1 },
    firmwareVersion,
    pcrSelections,
    pcrDigest,
  };
}

export function encodeQuoteInfo(quote: QuoteInfo): Buffer {
  const writer = new ByteWriter()
    .u32(TPM_GENERATED_VALUE)
    .u16(TPM_ST_ATTEST_QUOTE)
    .sized(quote.qualifiedSigner)
    .sized(quote.extraData)
    .u64(quote.clockInfo.clock)
    .u32(quote.clockInfo.resetCount)
    .u32(quote.clockInfo.restartCount)
    .u8(quote.clockInfo.safe ? 1 : 0)
    .u64(quote.firmwareVersion);
  writePcrSelectionList(writer, quote.pcrSelections);
  writer.sized(quote.pcrDigest);
  return writer.finish();
}
