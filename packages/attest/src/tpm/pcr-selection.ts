// TPML_PCR_SELECTION (TPM 2.0 Part 2 §10.9.7): which PCRs of which banks a quote covers.
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';

/** One bank's selection: the hash algorithm and the selected PCR indices, ascending. */
export interface PcrSelection {
  readonly hashAlg: number;
  readonly pcrs: readonly number[];
  /** sizeofSelect as sent (3 for 24 PCRs); kept so re-encoding is byte-exact. */
  readonly sizeOfSelect: number;
}

/** HASH_COUNT bound: no TPM has more banks than this. */
const MAX_BANKS = 16;
/** PCR_SELECT_MAX for up to 64 PCRs; real TPMs use 3. */
const MAX_SELECT_BYTES = 8;

export function readPcrSelectionList(reader: ByteReader): PcrSelection[] {
  const count = reader.u32();
  if (count > MAX_BANKS) reader.fail(`TPML_PCR_SELECTION count ${count} exceeds ${MAX_BANKS}`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = reader.u16();
    const sizeOfSelect = reader.u8();
    if (sizeOfSelect > MAX_SELECT_BYTES) reader.fail(`sizeofSelect ${sizeOfSelect} exceeds ${MAX_SELECT_BYTES}`);
    const bits = reader.take(sizeOfSelect);
    const pcrs: number[] = [];
    bits.forEach((byte, j) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(j * 8 + bit);
    });
    out.push({ hashAlg, pcrs, sizeOfSelect });
  }
  return out;
}

export function writePcrSelectionList(writer: ByteWriter, selections: readonly PcrSelection[]): void {
  writer.u32(selections.length);
  for (const selection of selections) {
    const bits = new Uint8Array(selection.sizeOfSelect);
    for (const pcr of selection.pcrs) {
      const byte = pcr >> 3;
      if (byte >= bits.length)
        throw new AttestError('ERR_ATTEST_ENCODE', `PCR ${pcr} does not fit sizeofSelect ${selection.sizeOfSelect}`);
      bits[byte]! |= 1 << (pcr & 7);
    }
    writer.u16(selection.hashAlg).u8(bits.length).bytes(bits);
  }
}

export function parsePcrSelectionList(bytes: Uint8Array): PcrSelection[] {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_TPM', 'TPML_PCR_SELECTION');
  const out = readPcrSelectionList(reader);
  reader.end();
  return out;
}

export function encodePcrSelectionList(selections: readonly PcrSelection[]): Buffer {
  const writer = new ByteWriter();
  writePcrSelectionList(writer, selections);
  return writer.finish();
}
