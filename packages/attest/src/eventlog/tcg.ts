// TCG PC Client crypto-agile event log (TCG PC Client PFP §10): parse, produce and replay into PCR banks.
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from '../tpm/bytes.ts';
import { digest, findHash } from '../tpm/constants.ts';

/** Event types used here (TCG PC Client PFP §10.4.1). */
export const EV = {
  NO_ACTION: 0x03,
  SEPARATOR: 0x04,
  S_CRTM_VERSION: 0x08,
  IPL: 0x0d,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
} as const;

export interface TcgEvent {
  readonly pcrIndex: number;
  readonly eventType: number;
  /** TPM_ALG_ID → digest. */
  readonly digests: ReadonlyMap<number, Uint8Array>;
  readonly data: Uint8Array;
}

export interface TcgEventLog {
  /** TPM_ALG_ID → digest size, from the Spec ID Event03 header. */
  readonly algorithms: ReadonlyMap<number, number>;
  readonly events: readonly TcgEvent[];
}

const SPEC_ID_SIGNATURE = Buffer.from('Spec ID Event03\0', 'latin1');
const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');
const MAX_ALGORITHMS = 16;
/** No real firmware event is this large; the bound keeps a forged size from allocating gigabytes. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

function readSpecId(data: Uint8Array): Map<number, number> {
  const reader = new ByteReader(data, 'ERR_ATTEST_MALFORMED_EVENT_LOG', 'Spec ID event');
  if (!Buffer.from(reader.take(16)).equals(SPEC_ID_SIGNATURE)) reader.fail('not a crypto-agile log (Spec ID Event03)');
  reader.take(4 + 4); // platformClass, specVersionMinor/Major, specErrata, uintnSize
  const count = reader.u32le();
  if (count === 0 || count > MAX_ALGORITHMS) reader.fail(`numberOfAlgorithms ${count}`);
  const algorithms = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const alg = reader.u16le();
    const size = reader.u16le();
    if (size === 0 || size > 64) reader.fail(`digest size ${size}`);
    algorithms.set(alg, size);
  }
  reader.take(reader.u8()); // vendorInfo
  return algorithms;
}

export function parseTcgEventLog(bytes: Uint8Array): TcgEventLog {
  const reader = new ByteReader(bytes, 'ERR_ATTEST_MALFORMED_EVENT_LOG', 'TCG event log');
  // The first event is in the SHA-1 (TCG_PCClientPCREvent) format and holds the Spec ID header.
  reader.u32le();
  if (reader.u32le() !== EV.NO_ACTION) reader.fail('first event is not EV_NO_ACTION');
  reader.take(20);
  const headerSize = reader.u32le();
  if (headerSize > MAX_EVENT_BYTES) reader.fail('header too large');
  const algorithms = readSpecId(reader.take(headerSize));
  const events: TcgEvent[] = [];
  while (reader.remaining > 0) {
    const pcrIndex = reader.u32le();
    const eventType = reader.u32le();
    const count = reader.u32le();
    if (count > MAX_ALGORITHMS) reader.fail(`digest count ${count}`);
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = reader.u16le();
      const size =
        algorithms.get(alg) ?? reader.fail(`digest algorithm 0x${alg.toString(16)} not in the Spec ID header`);
      digests.set(alg, reader.take(size));
    }
    const size = reader.u32le();
    if (size > MAX_EVENT_BYTES) reader.fail(`event size ${size}`);
    events.push({ pcrIndex, eventType, digests, data: reader.take(size) });
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
  for (const alg of algs) spec.u16le(alg).u16le(findHash(alg)?.size ?? 0);
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
 * event), EV_NO_ACTION events are skipped, PCR = H(PCR || digest). Returns only the PCRs the log touches.
 */
export function replayTcgEventLog(log: TcgEventLog, alg: number): Map<number, Buffer> {
  const size = log.algorithms.get(alg);
  const hash = findHash(alg);
  if (size === undefined || hash === undefined || hash.size !== size) {
    throw new AttestError('ERR_ATTEST_MALFORMED_EVENT_LOG', `The event log has no usable bank 0x${alg.toString(16)}.`);
  }
  const pcrs = new Map<number, Buffer>();
  for (const event of log.events) {
    if (event.eventType === EV.NO_ACTION) {
      const data = Buffer.from(event.data);
      if (event.pcrIndex === 0 && data.length >= 17 && data.subarray(0, 16).equals(STARTUP_LOCALITY)) {
        const start = Buffer.alloc(size);
        start[size - 1] = data[16]!;
        pcrs.set(0, start);
      }
      continue;
    }
    const eventDigest = event.digests.get(alg);
    if (eventDigest === undefined) {
      throw new AttestError('ERR_ATTEST_MALFORMED_EVENT_LOG', `An event has no digest for bank 0x${alg.toString(16)}.`);
    }
    pcrs.set(event.pcrIndex, digest(alg, pcrs.get(event.pcrIndex) ?? Buffer.alloc(size), eventDigest));
  }
  return pcrs;
}

const CMDLINE_PREFIX = 'kernel_cmdline: ';

/**
 * The kernel command line GRUB measured into PCR 8: an EV_IPL event "kernel_cmdline: <cmdline>\0" whose
 * digest in every bank is H(<cmdline>) without the NUL (GRUB's TPM module). The text is returned as logged,
 * NUL included; an event whose digests do not bind its text is refused.
 */
export function findKernelCmdline(log: TcgEventLog): string | undefined {
  for (const event of log.events) {
    if (event.pcrIndex !== 8 || event.eventType !== EV.IPL) continue;
    const data = Buffer.from(event.data);
    if (!data.subarray(0, CMDLINE_PREFIX.length).equals(Buffer.from(CMDLINE_PREFIX, 'latin1'))) continue;
    const measured = data.subarray(CMDLINE_PREFIX.length, data.at(-1) === 0 ? -1 : data.length);
    for (const [alg, value] of event.digests) {
      if (findHash(alg) !== undefined && !digest(alg, measured).equals(value)) {
        throw new AttestError(
          'ERR_ATTEST_MALFORMED_EVENT_LOG',
          'The kernel command line event does not match its digest.',
        );
      }
    }
    return data.subarray(CMDLINE_PREFIX.length).toString('utf8');
  }
  return undefined;
}

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
