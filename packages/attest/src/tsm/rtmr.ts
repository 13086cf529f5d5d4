// TDX runtime measurement registers through sysfs (Linux 6.16 `tsm-mr`): writing a SHA-384 digest to
// `rtmrN:sha384` extends RTMR N (RTMR = SHA-384(RTMR ‖ digest)); reading it gives the register.
import { join } from 'node:path';
import { AttestError } from '../errors.ts';
import { type KernelFs, nodeKernelFs } from './fs.ts';

/** `/sys/class/misc/tdx_guest` links here; the ABI documents the `devices/virtual` path. */
export const TDX_MEASUREMENTS_ROOT = '/sys/devices/virtual/misc/tdx_guest/measurements';
export const RTMR_DIGEST_BYTES = 48;

export interface RtmrOptions {
  /** The `measurements` directory of the tdx_guest device. */
  readonly root?: string;
  readonly fs?: KernelFs;
}

function rtmrPath(root: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 3) {
    throw new AttestError('ERR_ATTEST_PLATFORM', `There is no RTMR ${index}: TDX has RTMR 0 to 3.`);
  }
  return join(root, `rtmr${index}:sha384`);
}

function rtmrError(message: string, cause: unknown): never {
  throw new AttestError('ERR_ATTEST_RTMR', `TDX RTMR: ${message}`, { cause });
}

/** Extends RTMR `index` with one SHA-384 digest. */
export async function extendRtmr(index: number, digest: Uint8Array, options: RtmrOptions = {}): Promise<void> {
  if (digest.length !== RTMR_DIGEST_BYTES) {
    throw new AttestError('ERR_ATTEST_PLATFORM', `An RTMR extends with a ${RTMR_DIGEST_BYTES}-byte SHA-384 digest.`);
  }
  const path = rtmrPath(options.root ?? TDX_MEASUREMENTS_ROOT, index);
  try {
    await (options.fs ?? nodeKernelFs).writeFile(path, digest);
  } catch (error) {
    rtmrError(`cannot extend RTMR ${index} (needs Linux 6.16 or newer and write access to ${path})`, error);
  }
}

/** Reads RTMR `index` (48 bytes). */
export async function readRtmr(index: number, options: RtmrOptions = {}): Promise<Buffer> {
  const path = rtmrPath(options.root ?? TDX_MEASUREMENTS_ROOT, index);
  let value: Buffer;
  try {
    value = await (options.fs ?? nodeKernelFs).readFile(path);
  } catch (error) {
    return rtmrError(`cannot read RTMR ${index}`, error);
  }
  if (value.length !== RTMR_DIGEST_BYTES) rtmrError(`RTMR ${index} read ${value.length} bytes`, undefined);
  return value;
}
