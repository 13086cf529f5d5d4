// The host's sealing key: held by its TPM when it has one (a sealed data object under the owner's storage key),
// else a file of its own (0600). It seals the host's TLS key at rest.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TPM_ALG, TPM_ECC_CURVE, TPM_RH, openTpm } from '@sealroom/attest';
import { type Logger, type Sealer, createSealer, loadOrCreateRootKey } from '@sealroom/core';
import { ComputeError } from '../errors.ts';

/** The file sealing key (no TPM) and the TPM-sealed one (its TPM2B_PRIVATE and TPM2B_PUBLIC). */
const FILE_KEY = 'host-seal.key';
const TPM_KEY = 'host-seal.tpm';
const KEY_BYTES = 32;

/** TPMA_OBJECT bits (Part 2 §8.3). */
const FIXED_TPM = 1 << 1;
const FIXED_PARENT = 1 << 4;
const SENSITIVE_DATA_ORIGIN = 1 << 5;
const USER_WITH_AUTH = 1 << 6;
const NO_DA = 1 << 10;
const RESTRICTED = 1 << 16;
const DECRYPT = 1 << 17;

const u16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const u32 = (v: number) => Buffer.from([(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);

/** The owner hierarchy's storage key: ECC P-256, AES-128-CFB, derived again from the same seed on every use. */
const STORAGE_KEY_TEMPLATE = Buffer.concat([
  u16(TPM_ALG.ECC),
  u16(TPM_ALG.SHA256),
  u32(FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | NO_DA | RESTRICTED | DECRYPT),
  u16(0),
  u16(TPM_ALG.AES),
  u16(128),
  u16(TPM_ALG.CFB),
  u16(TPM_ALG.NULL),
  u16(TPM_ECC_CURVE.NIST_P256),
  u16(TPM_ALG.NULL),
  u16(0),
  u16(0),
]);

/** A sealed data object: a KEYEDHASH that neither signs nor decrypts, only unseals, in this TPM only. */
const SEALED_TEMPLATE = Buffer.concat([
  u16(0x0008),
  u16(TPM_ALG.SHA256),
  u32(FIXED_TPM | FIXED_PARENT | USER_WITH_AUTH | NO_DA),
  u16(0),
  u16(TPM_ALG.NULL),
  u16(0),
]);

export interface HostSealingOptions {
  readonly stateDir: string;
  /** The TPM (`/dev/tpmrm0`, `tcp://HOST:PORT` of a simulator; `none` for a file key); by default /dev/tpmrm0 when there is one. */
  readonly tpm?: string;
  readonly logger?: Logger;
}

/** The TPM to seal with: the one named, else the machine's resource manager when present. */
function tpmAddress(options: HostSealingOptions): string | undefined {
  if (options.tpm !== undefined) return options.tpm === '' || options.tpm === 'none' ? undefined : options.tpm;
  return existsSync('/dev/tpmrm0') ? '/dev/tpmrm0' : undefined;
}

async function withTpm<T>(
  address: string,
  work: (storageKey: number, tpm: Awaited<ReturnType<typeof openTpm>>) => Promise<T>,
) {
  const tpm = await openTpm(address);
  try {
    await tpm.startup();
    const storage = await tpm.createPrimary(TPM_RH.OWNER, STORAGE_KEY_TEMPLATE);
    try {
      return await work(storage.handle, tpm);
    } finally {
      await tpm.flush(storage.handle).catch(() => undefined);
    }
  } finally {
    await tpm.close().catch(() => undefined);
  }
}

/**
 * The host's sealer. A sealing key made once stays where it was made: one sealed by the TPM is opened by that
 * TPM only (a state directory copied to another machine opens nothing), a file key stays a file key.
 */
export async function openHostSealer(options: HostSealingOptions): Promise<Sealer> {
  const tpmFile = join(options.stateDir, TPM_KEY);
  const fileKey = join(options.stateDir, FILE_KEY);
  const address = tpmAddress(options);
  if (existsSync(tpmFile)) {
    if (address === undefined)
      throw new ComputeError(
        'ERR_COMPUTE_HOST_STATE',
        `The host key is sealed by a TPM, and no TPM is here (${TPM_KEY}): give --tpm, or join again.`,
      );
    const kept = JSON.parse(readFileSync(tpmFile, 'utf8')) as { private: string; public: string };
    const key = await withTpm(address, async (storage, tpm) => {
      const handle = await tpm.load(storage, Buffer.from(kept.private, 'base64'), Buffer.from(kept.public, 'base64'));
      try {
        return await tpm.unseal(handle);
      } finally {
        await tpm.flush(handle).catch(() => undefined);
      }
    });
    options.logger?.info({ sealing: 'tpm', tpm: address }, 'host key sealed at rest under a key the TPM holds');
    return createSealer(key);
  }
  if (existsSync(fileKey) || address === undefined) {
    options.logger?.info({ sealing: 'file', sealingKey: FILE_KEY }, 'host key sealed at rest with a file key (no TPM)');
    return loadOrCreateRootKey(fileKey);
  }
  const key = randomBytes(KEY_BYTES);
  const sealed = await withTpm(address, (storage, tpm) => tpm.create(storage, SEALED_TEMPLATE, key));
  const body = JSON.stringify({ private: sealed.private.toString('base64'), public: sealed.public.toString('base64') });
  writeFileSync(`${tpmFile}.tmp`, `${body}\n`, { mode: 0o600 });
  renameSync(`${tpmFile}.tmp`, tpmFile);
  options.logger?.info({ sealing: 'tpm', tpm: address }, 'host key sealed at rest under a key the TPM holds');
  return createSealer(key);
}
