// Confidential Space (COS) events in the CEL: content types, encoding, and the verifier-side parsing rules
// of GoogleCloudPlatform/confidential-space `server/extract/cos_state.go` (docs/attestation.md, "Event logs").
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from '../tpm/bytes.ts';
import { TPM_ALG, digest, findHash, hashInfo } from '../tpm/constants.ts';
import { CEL_TYPE, replayCel } from './cel.ts';
import type { CelRecord } from './cel.ts';

/** COS content types (go-tpm-tools `cel/cos_tlv.go`). */
export const COS_TYPE = {
  IMAGE_REF: 0,
  IMAGE_DIGEST: 1,
  RESTART_POLICY: 2,
  IMAGE_ID: 3,
  ARG: 4,
  ENV_VAR: 5,
  OVERRIDE_ARG: 6,
  OVERRIDE_ENV: 7,
  LAUNCH_SEPARATOR: 8,
  MEMORY_MONITOR: 9,
  GPU_CC_MODE: 10,
  GPU_DEVICE_ATTESTATION_BINDING: 11,
  /**
   * Sealroom's own: `sha256:<hex>` of the deployment CA the launcher puts in the workload's trust store, so the
   * token shows which deployment the workload trusts. Far above Google's types, which grow from 0.
   */
  SEALROOM_TRUSTED_CA: 0xc0,
} as const;

/** The register COS events go to: PCR 13 on a TPM, CC MR 4 (RTMR3) on TDX. */
export const COS_PCR = 13;
export const COS_CCMR = 4;

/** The launch register of each evidence kind, as its CEL records must name it. */
export const COS_REGISTERS = {
  tpm: { indexType: CEL_TYPE.PCR, index: COS_PCR, name: 'PCR 13' },
  tdx: { indexType: CEL_TYPE.CCMR, index: COS_CCMR, name: 'RTMR 3 (CC MR 4)' },
  // SEV-SNP has no runtime register: the launcher keeps CC MR 4 in software and binds it in report_data.
  'sev-snp': { indexType: CEL_TYPE.CCMR, index: COS_CCMR, name: 'the report-data launch register (CC MR 4)' },
} as const;
export type CosEvidenceKind = keyof typeof COS_REGISTERS;

function registerOf(record: CelRecord): string {
  return record.indexType === CEL_TYPE.PCR ? `PCR ${record.index}` : `CC MR ${record.index}`;
}

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
const GPU_CC_MODES = ['ON', 'OFF', 'DEVTOOLS'] as const;
export type GpuCcMode = (typeof GPU_CC_MODES)[number];

export const ENV_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The whole content TLV of one COS event: 0x50 | len | (type | len | value). */
export function encodeCosContent(cosType: number, value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const inner = new ByteWriter().u8(cosType).u32(bytes.length).bytes(bytes).finish();
  return new ByteWriter().u8(CEL_TYPE.COS_CONTENT).u32(inner.length).bytes(inner).finish();
}

/** What the launcher measured, as the verifier reads it back (go-tpm-tools `AttestedCosState`). */
export interface AttestedCosState {
  readonly container: {
    readonly imageReference: string;
    readonly imageDigest: string;
    readonly restartPolicy: RestartPolicy | '';
    readonly imageId: string;
    readonly args: readonly string[];
    readonly envVars: Readonly<Record<string, string>>;
    readonly overriddenArgs: readonly string[];
    readonly overriddenEnvVars: Readonly<Record<string, string>>;
  };
  readonly memoryMonitoring: boolean;
  readonly gpuCcMode?: GpuCcMode;
  /** `sha256:<hex>` of the CA in the workload's trust store (Sealroom's SEALROOM_TRUSTED_CA event). */
  readonly trustedCaDigest?: string;
  readonly separatorSeen: boolean;
}

function reject(message: string): never {
  throw new AttestError('ERR_ATTEST_CEL_REJECTED', message);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(value: Uint8Array, what: string): string {
  try {
    return utf8.decode(value);
  } catch {
    return reject(`The ${what} event is not valid UTF-8.`);
  }
}

function splitEnv(value: string, what: string): [string, string] {
  const at = value.indexOf('=');
  if (at < 0) reject(`An ${what} event has no '='.`);
  const name = value.slice(0, at);
  if (!ENV_NAME_PATTERN.test(name)) reject(`An ${what} event has an invalid name; the whole log is refused.`);
  return [name, value.slice(at + 1)];
}

/**
 * Checks each record's register, shape and digests, then reads the COS events, as Confidential Space's
 * verifier does. Every record must name the launch register of `kind`: PCR 13 for TPM evidence, RTMR 3 for TDX.
 */
export function parseCosState(records: readonly CelRecord[], kind: CosEvidenceKind): AttestedCosState {
  const register = COS_REGISTERS[kind];
  const state = {
    imageReference: '',
    imageDigest: '',
    restartPolicy: '' as RestartPolicy | '',
    imageId: '',
    args: [] as string[],
    envVars: {} as Record<string, string>,
    overriddenArgs: [] as string[],
    overriddenEnvVars: {} as Record<string, string>,
  };
  const seen = new Set<number>();
  let memoryMonitoring = false;
  let gpuCcMode: GpuCcMode | undefined;
  let trustedCaDigest: string | undefined;
  let separatorSeen = false;
  for (const record of records) {
    if (record.indexType !== register.indexType || record.index !== register.index) {
      throw new AttestError(
        'ERR_ATTEST_CEL_INDEX_TYPE',
        `CEL record ${record.recnum} is for ${registerOf(record)}, but ${kind.toUpperCase()} evidence measures the launch into ${register.name}.`,
      );
    }
    if (record.contentType !== CEL_TYPE.COS_CONTENT) reject(`CEL record ${record.recnum} is not a COS event.`);
    if (record.digests.size === 0) reject(`CEL record ${record.recnum} has no digest.`);
    for (const [alg, value] of record.digests) {
      if (findHash(alg) === undefined) reject(`CEL record ${record.recnum} uses an unknown digest algorithm.`);
      if (!digest(alg, record.content).equals(value)) reject(`CEL record ${record.recnum} digest does not match.`);
    }
    if (separatorSeen) reject('An event follows the launch separator.');
    const inner = new ByteReader(record.contentValue, 'ERR_ATTEST_CEL_REJECTED', 'COS event');
    const cosType = inner.u8();
    const value = inner.take(inner.u32());
    inner.end();
    const once = (what: string): void => {
      if (seen.has(cosType)) reject(`A second ${what} event.`);
      seen.add(cosType);
    };
    switch (cosType) {
      case COS_TYPE.IMAGE_REF:
        once('ImageRef');
        state.imageReference = text(value, 'ImageRef');
        break;
      case COS_TYPE.IMAGE_DIGEST:
        once('ImageDigest');
        state.imageDigest = text(value, 'ImageDigest');
        break;
      case COS_TYPE.IMAGE_ID:
        once('ImageID');
        state.imageId = text(value, 'ImageID');
        break;
      case COS_TYPE.RESTART_POLICY: {
        const policy = text(value, 'RestartPolicy');
        if (!(RESTART_POLICIES as readonly string[]).includes(policy))
          reject('The RestartPolicy event is not a policy.');
        state.restartPolicy = policy as RestartPolicy;
        break;
      }
      case COS_TYPE.ARG:
        state.args.push(text(value, 'Arg'));
        break;
      case COS_TYPE.ENV_VAR: {
        const [name, envValue] = splitEnv(text(value, 'EnvVar'), 'EnvVar');
        state.envVars[name] = envValue;
        break;
      }
      case COS_TYPE.OVERRIDE_ARG:
        state.overriddenArgs.push(text(value, 'OverrideArg'));
        break;
      case COS_TYPE.OVERRIDE_ENV: {
        const [name, envValue] = splitEnv(text(value, 'OverrideEnv'), 'OverrideEnv');
        state.overriddenEnvVars[name] = envValue;
        break;
      }
      case COS_TYPE.LAUNCH_SEPARATOR:
        separatorSeen = true;
        break;
      case COS_TYPE.MEMORY_MONITOR:
        if (value.length !== 1 || value[0]! > 1) reject('The MemoryMonitor event is not one byte 00 or 01.');
        memoryMonitoring = value[0] === 1;
        break;
      case COS_TYPE.GPU_CC_MODE: {
        const mode = text(value, 'GpuCCMode');
        if (!(GPU_CC_MODES as readonly string[]).includes(mode)) reject('The GpuCCMode event is not a mode.');
        gpuCcMode = mode as GpuCcMode;
        break;
      }
      case COS_TYPE.GPU_DEVICE_ATTESTATION_BINDING:
        break;
      case COS_TYPE.SEALROOM_TRUSTED_CA: {
        once('TrustedCA');
        const ca = text(value, 'TrustedCA');
        if (!/^sha256:[0-9a-f]{64}$/.test(ca)) reject('The TrustedCA event is not a sha256: digest.');
        trustedCaDigest = ca;
        break;
      }
      default:
        reject(`Unknown COS event type ${cosType}.`);
    }
  }
  return {
    container: state,
    memoryMonitoring,
    ...(gpuCcMode === undefined ? {} : { gpuCcMode }),
    ...(trustedCaDigest === undefined ? {} : { trustedCaDigest }),
    separatorSeen,
  };
}

/**
 * Binds COS records to the launch register their evidence quotes (TPM_ALG_ID → quoted register value):
 * every record carries the same banks, the records are replayed in every quoted bank they carry, and at
 * least one of those is stronger than SHA-1. Returns the banks they were verified in.
 */
export function bindCosLog(
  records: readonly CelRecord[],
  quoted: ReadonlyMap<number, Uint8Array | undefined>,
  kind: CosEvidenceKind,
): number[] {
  const register = COS_REGISTERS[kind];
  const carried = [...(records[0]?.digests.keys() ?? [])];
  for (const record of records) {
    if (record.digests.size !== carried.length || carried.some((alg) => !record.digests.has(alg))) {
      reject(`CEL record ${record.recnum} carries other banks than record 0.`);
    }
  }
  const banks = [...quoted.keys()].filter((alg) => carried.includes(alg));
  if (!banks.some((alg) => alg !== TPM_ALG.SHA1)) {
    throw new AttestError(
      'ERR_ATTEST_EVENT_LOG_UNBOUND',
      'The canonical event log shares no quoted bank stronger than SHA-1 with the quotes.',
    );
  }
  for (const alg of banks) {
    const value = quoted.get(alg);
    if (value === undefined) {
      throw new AttestError(
        'ERR_ATTEST_REPLAY_MISMATCH',
        `The ${hashInfo(alg).name} quote does not cover ${register.name}.`,
      );
    }
    if (!replayCel(records, alg, register.indexType, register.index).equals(value)) {
      throw new AttestError(
        'ERR_ATTEST_REPLAY_MISMATCH',
        `Replaying the canonical event log in the ${hashInfo(alg).name} bank does not give the quoted ${register.name}.`,
      );
    }
  }
  return banks;
}
