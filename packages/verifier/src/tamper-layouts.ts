// Test-only: the byte layout of each binary evidence part, field by field, with the code that must refuse a
// flip of each field (TPM 2.0 Part 2, TCG PC Client PFP §10, TCG CEL). Walked from a valid sample.
import { EV, TPM_ALG, digest, findHash } from '@sealroom/attest';
import type { Region } from './tamper-kit.ts';
import { Layout, UNMEASURED } from './tamper-kit.ts';

const u16 = (b: Uint8Array, at: number) => Buffer.from(b).readUInt16BE(at);
const u16le = (b: Uint8Array, at: number) => Buffer.from(b).readUInt16LE(at);
const u32le = (b: Uint8Array, at: number) => Buffer.from(b).readUInt32LE(at);
const u32 = (b: Uint8Array, at: number) => Buffer.from(b).readUInt32BE(at);

/** TPMS_ATTEST: every byte is signed, and the signature is checked before anything is read. */
export function quoteRegions(rawQuote: Uint8Array): Region[] {
  return new Layout().field('TPMS_ATTEST', rawQuote.length, 'ERR_ATTEST_QUOTE_SIGNATURE').regions;
}

/** TPMT_SIGNATURE (Part 2 §11.3.4): RSASSA/RSAPSS { hash, TPM2B sig } or ECDSA { hash, r, s }. */
export function signatureRegions(raw: Uint8Array): Region[] {
  const layout = new Layout()
    .field('sigAlg', 2, 'ERR_ATTEST_UNSUPPORTED_ALGORITHM')
    .field('hashAlg', 2, (m) =>
      findHash(u16(m, 2)) === undefined ? 'ERR_ATTEST_UNSUPPORTED_ALGORITHM' : 'ERR_ATTEST_QUOTE_SIGNATURE',
    );
  const sizes = u16(raw, 0) === TPM_ALG.ECDSA ? ['r', 's'] : ['sig'];
  for (const name of sizes) {
    const size = u16(raw, layout.offset);
    layout.field(`${name} size`, 2, 'ERR_ATTEST_MALFORMED_TPM').field(name, size, 'ERR_ATTEST_QUOTE_SIGNATURE');
  }
  return layout.regions;
}

/** TPMT_PUBLIC (Part 2 §12.2.4) of the AK: the key must be the certificate's, the rest an AK template. */
export function tpmPublicRegions(raw: Uint8Array, shiftedParse: string): Region[] {
  const layout = new Layout()
    .field('type', 2, 'ERR_ATTEST_UNSUPPORTED_ALGORITHM')
    .field('nameAlg', 2, 'ERR_ATTEST_AK_ATTRIBUTES')
    .field('objectAttributes', 4, 'ERR_ATTEST_AK_ATTRIBUTES');
  const policy = u16(raw, layout.offset);
  layout.field('authPolicy size', 2, 'ERR_ATTEST_MALFORMED_TPM').field('authPolicy', policy, UNMEASURED);
  if (u16(raw, layout.offset) !== TPM_ALG.NULL) throw new Error('sample AK has a symmetric algorithm');
  // A non-NULL algorithm or scheme makes the parser read more fields: the rest no longer parses as a key.
  layout.field('symmetric', 2, shiftedParse).field('scheme', 2, 'ERR_ATTEST_AK_ATTRIBUTES');
  layout.field('scheme hash', 2, 'ERR_ATTEST_AK_ATTRIBUTES');
  const point = (name: string) => {
    const size = u16(raw, layout.offset);
    layout.field(`${name} size`, 2, 'ERR_ATTEST_MALFORMED_TPM').field(name, size, 'ERR_ATTEST_AK_MISMATCH');
  };
  if (u16(raw, 0) === TPM_ALG.RSA) {
    layout.field('keyBits', 2, 'ERR_ATTEST_AK_ATTRIBUTES').field('exponent', 4, 'ERR_ATTEST_AK_MISMATCH');
    point('modulus');
  } else {
    layout.field('curveID', 2, 'ERR_ATTEST_AK_MISMATCH').field('kdf', 2, shiftedParse);
    point('x');
    point('y');
  }
  return layout.regions;
}

/** What a flip of an event's data must give: bound data is refused by a boot-state rule. */
function dataExpectation(
  pcr: number,
  type: number,
  data: Uint8Array,
  digests: ReadonlyMap<number, Uint8Array>,
): (offset: number) => string {
  // The PFP leaves these unmeasured: an application's digest is of its PE image, a GRUB file's of its content.
  if ((pcr === 4 && type === EV.EFI_BOOT_SERVICES_APPLICATION) || (pcr === 9 && type === EV.IPL)) {
    return () => UNMEASURED;
  }
  // shim's authority events without an owner GUID are digested without their last byte (go-attestation #157).
  const [alg, value] = [...digests][0]!;
  const shimQuirk =
    type === EV.EFI_VARIABLE_AUTHORITY &&
    !digest(alg, data).equals(value) &&
    digest(alg, data.subarray(0, -1)).equals(value);
  return (offset) => (shimQuirk && offset === data.length - 1 ? UNMEASURED : 'ERR_ATTEST_BOOT_STATE');
}

/** A crypto-agile TCG log (PFP §10.2): the Spec ID event, then TCG_PCR_EVENT2 records. */
export function tcgLogRegions(log: Uint8Array): Region[] {
  const M = 'ERR_ATTEST_MALFORMED_EVENT_LOG';
  const layout = new Layout()
    .field('Spec ID pcrIndex', 4, M)
    .field('Spec ID eventType', 4, M)
    .field('Spec ID digest', 20, M)
    .field('Spec ID size', 4, M)
    .field('signature', 16, M)
    .field('platformClass', 4, M)
    .field('spec version', 2, M)
    .field('specErrata', 1, UNMEASURED)
    .field('uintnSize', 1, M);
  const count = u32le(log, layout.offset);
  layout.field('numberOfAlgorithms', 4, M);
  const sizes = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    sizes.set(u16le(log, layout.offset), u16le(log, layout.offset + 2));
    layout.field(`algorithm ${i}`, 2, 'ERR_ATTEST_UNSUPPORTED_ALGORITHM').field(`digest size ${i}`, 2, M);
  }
  const vendor = log[layout.offset]!;
  layout.field('vendorInfoSize', 1, M).field('vendorInfo', vendor, UNMEASURED);
  for (let n = 1; layout.offset < log.length; n++) {
    const pcr = u32le(log, layout.offset);
    const type = u32le(log, layout.offset + 4);
    const at = `event ${n} (PCR ${pcr}, 0x${type.toString(16)})`;
    layout.field(`${at} pcrIndex`, 4, 'ERR_ATTEST_REPLAY_MISMATCH').field(`${at} eventType`, 4, M);
    layout.field(`${at} digest count`, 4, M);
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = u16le(log, layout.offset);
      const size = sizes.get(alg)!;
      digests.set(alg, log.subarray(layout.offset + 2, layout.offset + 2 + size));
      layout.field(`${at} digest ${alg}`, 2, M).field(`${at} digest ${alg} value`, size, 'ERR_ATTEST_REPLAY_MISMATCH');
    }
    const size = u32le(log, layout.offset);
    layout.field(`${at} size`, 4, M);
    const data = log.subarray(layout.offset + 0, layout.offset + size);
    const expect = dataExpectation(pcr, type, data, digests);
    const start = layout.offset;
    layout.field(`${at} data`, size, (_m, offset) => expect(offset - start));
  }
  return layout.regions;
}

/** A TCG canonical event log (TLVs): recnum, index (PCR or CCMR), digests, COS content, per record. */
export function celRegions(cel: Uint8Array): Region[] {
  const C = 'ERR_ATTEST_MALFORMED_CEL';
  const layout = new Layout();
  while (layout.offset < cel.length) {
    const n = Buffer.from(cel).readBigUInt64BE(layout.offset + 5);
    const at = `record ${n}`;
    layout.field(`${at} recnum type`, 1, C).field(`${at} recnum length`, 4, C).field(`${at} recnum`, 8, C);
    layout.field(`${at} index type`, 1, C).field(`${at} index length`, 4, C);
    layout.field(`${at} index`, 1, 'ERR_ATTEST_CEL_INDEX_TYPE');
    const digestsLength = u32(cel, layout.offset + 1);
    layout.field(`${at} digests type`, 1, C).field(`${at} digests length`, 4, C);
    const end = layout.offset + digestsLength;
    while (layout.offset < end) {
      const size = u32(cel, layout.offset + 1);
      layout.field(`${at} digest algorithm`, 1, 'ERR_ATTEST_CEL_REJECTED').field(`${at} digest length`, 4, C);
      layout.field(`${at} digest`, size, 'ERR_ATTEST_CEL_REJECTED');
    }
    const contentLength = u32(cel, layout.offset + 1);
    layout.field(`${at} content type`, 1, 'ERR_ATTEST_CEL_REJECTED').field(`${at} content length`, 4, C);
    layout.field(`${at} content`, contentLength, 'ERR_ATTEST_CEL_REJECTED');
  }
  return layout.regions;
}
