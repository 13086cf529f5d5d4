// The machine types compute knows (memory per instance) and the disk an instance gets from its boot disk size.
import { ComputeError } from './errors.ts';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** gcloud's default when `--machine-type` is not given. */
export const DEFAULT_MACHINE_TYPE = 'n1-standard-1';

/**
 * GiB of memory per vCPU of each predefined family and shape, as Compute Engine's machine type list
 * gives them (n2d-standard-2 = 2 vCPUs, 8 GiB). The families Confidential VMs run on (n2d, c2d, c3,
 * c3d), plus n2, e2 and n1 for instances created without a confidential machine type.
 */
const GIB_PER_VCPU: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  n2d: { standard: 4, highmem: 8, highcpu: 1 },
  c2d: { standard: 4, highmem: 8, highcpu: 2 },
  c3: { standard: 4, highmem: 8, highcpu: 2 },
  c3d: { standard: 4, highmem: 8, highcpu: 2 },
  n2: { standard: 4, highmem: 8, highcpu: 1 },
  e2: { standard: 4, highmem: 8, highcpu: 1 },
  n1: { standard: 3.75, highmem: 6.5, highcpu: 0.9 },
};
const VCPU_COUNTS = new Set([
  1, 2, 4, 8, 16, 22, 30, 32, 44, 48, 56, 60, 64, 80, 88, 90, 96, 112, 128, 176, 180, 224, 360,
]);
/** Shared-core types: a fixed amount each. */
const SHARED_CORE_GIB: Readonly<Record<string, number>> = {
  'e2-micro': 1,
  'e2-small': 2,
  'e2-medium': 4,
  'f1-micro': 0.6,
  'g1-small': 1.7,
};

export interface MachineType {
  readonly name: string;
  readonly memoryBytes: number;
}

/**
 * Resolves `machineType` as gcloud sends it (`zones/Z/machineTypes/NAME` or a full URL, or the bare
 * name): a predefined `FAMILY-SHAPE-VCPUS`, a shared-core type, or `[FAMILY-]custom-VCPUS-MEMORY_MB`.
 * Anything else is refused, as Compute Engine refuses a machine type it does not have.
 */
export function resolveMachineType(machineType: string | undefined): MachineType {
  const name = (machineType ?? DEFAULT_MACHINE_TYPE).split('/').at(-1) ?? '';
  const shared = SHARED_CORE_GIB[name];
  if (shared !== undefined) return { name, memoryBytes: Math.round(shared * GIB) };
  const custom = /^(?:[a-z0-9]+-)?custom-(\d{1,3})-(\d{3,7})$/.exec(name);
  if (custom) return { name, memoryBytes: Number(custom[2]) * MIB };
  const predefined = /^([a-z0-9]+)-(standard|highmem|highcpu)-(\d{1,3})$/.exec(name);
  const perVcpu = predefined ? GIB_PER_VCPU[predefined[1] ?? '']?.[predefined[2] ?? ''] : undefined;
  const vcpus = Number(predefined?.[3]);
  if (perVcpu === undefined || !VCPU_COUNTS.has(vcpus))
    throw new ComputeError(
      'ERR_COMPUTE_BAD_REQUEST',
      `Invalid value for field 'resource.machineType': '${name.slice(0, 64)}'. Machine type with name '${name.slice(0, 64)}' does not exist.`,
    );
  return { name, memoryBytes: Math.round(perVcpu * vcpus * GIB) };
}

/** "The total disk space available to Confidential Space is around 7GB", image included. */
export const DEFAULT_INSTANCE_DISK_BYTES = 7 * GIB;
/** A larger boot disk grows the stateful partition to the boot disk's size less 5 GB. */
const BOOT_DISK_RESERVED_BYTES = 5 * GIB;

/**
 * The instance's disk (its stateful partition, image and writes together) from the boot disk's
 * `initializeParams.diskSizeGb`: 7 GiB, or the boot disk less 5 GiB when that is more.
 */
export function instanceDiskBytes(disks: readonly Record<string, unknown>[] | undefined): number {
  const boot = disks?.find((d) => d.boot === true) ?? disks?.[0];
  const params = boot?.initializeParams as { diskSizeGb?: unknown } | undefined;
  const sizeGb = Number(params?.diskSizeGb);
  if (!Number.isFinite(sizeGb) || sizeGb <= 0) return DEFAULT_INSTANCE_DISK_BYTES;
  return Math.max(DEFAULT_INSTANCE_DISK_BYTES, Math.round(sizeGb * GIB) - BOOT_DISK_RESERVED_BYTES);
}
