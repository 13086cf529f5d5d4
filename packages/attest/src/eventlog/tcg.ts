// TCG PC Client crypto-agile event log (TCG PC Client PFP §10): parse, produce and replay into PCR banks.
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from '../tpm/bytes.ts';
import { TPM_ALG, digest, findHash, hashInfo } from '../tpm/constants.ts';

/** Event types used here (TCG PC Client PFP §10.4.1). */
export const EV = {
  NO_ACTION: 0x03,
  SEPARATOR: 0x04,
  ACTION: 0x05,
  S_CRTM_VERSION: 0x08,
  IPL: 0x0d,
  NONHOST_INFO: 0x11,
  OMIT_BOOT_DEVICE_EVENTS: 0x12,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_VARIABLE_BOOT: 0x80000002,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EFI_GPT_EVENT: 0x80000006,
  EFI_ACTION: 0x80000007,
  EFI_VARIABLE_BOOT2: 0x8000000c,
  EFI_VARIABLE_AUTHORITY: 0x800000e0,
} as const;

export interface TcgEvent {
  /** Position in the log, counting from 1 after the Spec ID header (for messages). */
  readonly number: number;
  readonly pcrIndex: number;
  /** Not measured: a verifier trusts it only where digests or context confirm it. */
  readonly eventType: number;
  /** TPM_ALG_ID → digest, one for every bank of the header. */
  readonly digests: ReadonlyMap<number, Uint8Array>;
  readonly data: Uint8Array;
}

export interface TcgEventLog {
  /** TPM_ALG_ID → digest size, from the Spec ID Event03 header; every bank is one Sealroom knows. */
  readonly algorithms: ReadonlyMap<number, number>;
  readonly events: readonly TcgEvent[];
}

const SPEC_ID_SIGNATURE = Buffer.from('Spec ID Event03\0', 'latin1');
const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');
const MAX_ALGORITHMS = 16;
/** No real firmware event is this large; the bound keeps a forged size from allocating gigabytes. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * The event types the TCG PC Client PFP defines (§10.4.1, Table 9): 0x00–0x12 and the UEFI ones. A type
 * outside them is not firmware's: the type is not measured, so an unknown one can only be a forgery.
 */
const EVENT_TYPES: ReadonlySet<number> = new Set([
  ...Array.from({ length: 0x13 }, (_, i) => i),
  ...Array.from({ length: 0x0d }, (_, i) => 0x80000000 + i), // EV_EFI_EVENT_BASE … EV_EFI_VARIABLE_BOOT2
  0x80000010, // EV_EFI_HCRTM_EVENT
  0x800000e0, // EV_EFI_VARIABLE_AUTHORITY
  0x800000e1, // EV_EFI_SPDM_FIRMWARE_BLOB
  0x800000e2, // EV_EFI_SPDM_FIRMWARE_CONFIG
  0x800000e3, // EV_EFI_SPDM_DEVICE_POLICY
  0x800000e4, // EV_EFI_SPDM_DEVICE_AUTHORITY
]);

/** TCG_EfiSpecIdEvent (PFP §10.4.5.1): spec version 2.0, and only banks Sealroom can replay. */
function readSpecId(data: Uint8Array): Map<number, number> {
  const reader = new ByteReader(data, 'ERR_ATTEST_MALFORMED_EVENT_LOG', 'Spec ID event');
  if (!Buffer.from(reader.take(16)).equals(SPEC_ID_SIGNATURE)) reader.fail('not a crypto-agile log (Spec ID Event03)');
  if (reader.u32le() > 1) reader.fail('platformClass is neither client nor server');
  const minor = reader.u8();
  const major = reader.u8();
  if (major !== 2 || minor !== 0) reader.fail(`spec version ${major}.${minor} is not 2.0`);
  reader.u8(); // specErrata
  const uintnSize = reader.u8();
  if (uintnSize !== 1 && uintnSize !== 2) reader.fail(`uintnSize ${uintnSize}`);
  const count = reader.u32le();
  if (count === 0 || count > MAX_ALGORITHMS) reader.fail(`numberOfAlgorithms ${count}`);
  const algorithms = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const alg = reader.u16le();
    const size = reader.u16le();
    const hash = findHash(alg);
    if (hash === undefined) {
      throw new AttestError(
        'ERR_ATTEST_UNSUPPORTED_ALGORITHM',
        `The TCG event log has a bank of digest algorithm 0x${alg.toString(16)}, which Sealroom does not know.`,
      );
    }
    if (algorithms.has(alg)) reader.fail(`bank 0x${alg.toString(16)} listed twice`);
    if (size !== hash.size) reader.fail(`digest size ${size} for ${hash.name}`);
    algorithms.set(alg, size);
  }
  reader.take(reader.u8()); // vendorInfo
  reader.end();
  return algorithms;
}

/**
 * Parses a crypto-agile log. Every event must carry exactly one digest per bank of the header, and a
 * type in the ranges the PFP allows; a bank Sealroom does not know refuses the whole log.
 */
export function parseTcgEventLog(bytes: Uint8Array): TcgEventLog {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_EVENT_LOG', 'TCG event log');
  // The first event is in the SHA-1 (TCG_PCClientPCREvent) format: PCR 0, EV_NO_ACTION, a zero digest.
  if (reader.u32le() !== 0) reader.fail('the Spec ID event is not for PCR 0');
  if (reader.u32le() !== EV.NO_ACTION) reader.fail('first event is not EV_NO_ACTION');
  if (reader.take(20).some((b) => b !== 0)) reader.fail('the Spec ID event digest is not zero');
  const headerSize = reader.u32le();
  if (headerSize > MAX_EVENT_BYTES) reader.fail('header too large');
  const algorithms = readSpecId(reader.take(headerSize));
  const events: TcgEvent[] = [];
  while (reader.remaining > 0) {
    const pcrIndex = reader.u32le();
    const eventType = reader.u32le();
    if (!EVENT_TYPES.has(eventType)) reader.fail(`event type 0x${eventType.toString(16)} is not a PFP event type`);
    const count = reader.u32le();
    if (count !== algorithms.size) reader.fail(`digest count ${count}, the header lists ${algorithms.size} banks`);
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = reader.u16le();
      const size =
        algorithms.get(alg) ?? reader.fail(`digest algorithm 0x${alg.toString(16)} not in the Spec ID header`);
      if (digests.has(alg)) reader.fail(`digest algorithm 0x${alg.toString(16)} twice in one event`);
      digests.set(alg, reader.take(size));
    }
    const size = reader.u32le();
    if (size > MAX_EVENT_BYTES) reader.fail(`event size ${size}`);
    events.push({ number: events.length + 1, pcrIndex, eventType, digests, data: reader.take(size) });
  }
  return { algorithms, events };
}

export interface TcgEventInput {
  readonly pcrIndex: number;
  readonly eventType: number;
  readonly data: Uint8Array;
  /** Digests per algorithm; an algorithm left out is computed as H(data). */
  readonly digests?: ReadonlyMap<number, Uint8Array>;
}

/** Writes a crypto-agile log for the given banks (TPM_ALG_IDs), computing digests of event data when not given. */
export function encodeTcgEventLog(algs: readonly number[], events: readonly TcgEventInput[]): Buffer {
  const spec = new ByteWriter()
    .bytes(SPEC_ID_SIGNATURE)
    .u32le(0) // platformClass: client
    .u8(0) // specVersionMinor
    .u8(2) // specVersionMajor
    .u8(0) // specErrata
    .u8(2) // uintnSize: 64-bit
    .u32le(algs.length);
  // A bank Sealroom does not know takes its size from the first event's digest (to craft test logs).
  for (const alg of algs) spec.u16le(alg).u16le(findHash(alg)?.size ?? events[0]?.digests?.get(alg)?.length ?? 0);
  spec.u8(0);
  const header = spec.finish();
  const writer = new ByteWriter()
    .u32le(0)
    .u32le(EV.NO_ACTION)
    .bytes(new Uint8Array(20))
    .u32le(header.length)
    .bytes(header);
  for (const event of events) {
    writer.u32le(event.pcrIndex).u32le(event.eventType).u32le(algs.length);
    for (const alg of algs) writer.u16le(alg).bytes(event.digests?.get(alg) ?? digest(alg, event.data));
    writer.u32le(event.data.length).bytes(event.data);
  }
  return writer.finish();
}

/**
 * Replays the log into one bank: every PCR starts at zero (PCR 0 at the locality of a StartupLocality
 * event, which must come before any PCR 0 measurement), EV_NO_ACTION events are skipped,
 * PCR = H(PCR || digest). Returns only the PCRs the log touches.
 */
export function replayTcgEventLog(log: TcgEventLog, alg: number): Map<number, Buffer> {
  const size = log.algorithms.get(alg);
  if (size === undefined) {
    throw new AttestError('ERR_ATTEST_MALFORMED_EVENT_LOG', `The event log has no bank 0x${alg.toString(16)}.`);
  }
  const pcrs = new Map<number, Buffer>();
  for (const event of log.events) {
    if (event.eventType === EV.NO_ACTION) {
      const data = Buffer.from(event.data);
      if (event.pcrIndex === 0 && data.length >= 17 && data.subarray(0, 16).equals(STARTUP_LOCALITY)) {
        // PFP §10.4.5.3: the locality is the PCR 0 start value, so it cannot follow a PCR 0 measurement.
        if (pcrs.has(0)) {
          throw new AttestError(
            'ERR_ATTEST_MALFORMED_EVENT_LOG',
            `Event ${event.number}: a StartupLocality event after PCR 0 was extended.`,
          );
        }
        const start = Buffer.alloc(size);
        start[size - 1] = data[16]!;
        pcrs.set(0, start);
      }
      continue;
    }
    pcrs.set(event.pcrIndex, digest(alg, pcrs.get(event.pcrIndex) ?? Buffer.alloc(size), event.digests.get(alg)!));
  }
  return pcrs;
}

/**
 * Binds a log to the PCR values its quotes vouch for (TPM_ALG_ID → PCR → value): the log is replayed
 * in every quoted bank it carries and each PCR it touches must equal the quoted value. At least one of
 * those banks must be stronger than SHA-1, or nothing read from the log could be trusted. Returns the
 * banks it was verified in: the only digests a reader of the log may rely on.
 */
export function bindTcgEventLog(
  log: TcgEventLog,
  quoted: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>,
): number[] {
  const banks = [...quoted.keys()].filter((alg) => log.algorithms.has(alg));
  if (!banks.some((alg) => alg !== TPM_ALG.SHA1)) {
    throw new AttestError(
      'ERR_ATTEST_EVENT_LOG_UNBOUND',
      'The TCG event log shares no quoted bank stronger than SHA-1 with the quotes.',
    );
  }
  for (const alg of banks) {
    const values = quoted.get(alg)!;
    for (const [pcr, value] of replayTcgEventLog(log, alg)) {
      const want = values.get(pcr);
      if (want === undefined || !Buffer.from(want).equals(value)) {
        throw new AttestError(
          'ERR_ATTEST_REPLAY_MISMATCH',
          `Replaying the TCG event log in the ${hashInfo(alg).name} bank does not give the quoted PCR ${pcr}.`,
        );
      }
    }
  }
  return banks;
}

const CMDLINE_PREFIX = 'kernel_cmdline: ';

/** The EV_IPL event the soft platform and GRUB log for a kernel command line. */
export function kernelCmdlineEvent(cmdline: string, algs: readonly number[]): TcgEventInput {
  const measured = Buffer.from(cmdline, 'utf8');
  return {
    pcrIndex: 8,
    eventType: EV.IPL,
    data: Buffer.concat([Buffer.from(CMDLINE_PREFIX, 'latin1'), measured, Buffer.of(0)]),
    digests: new Map(algs.map((alg) => [alg, digest(alg, measured)])),
  };
}
