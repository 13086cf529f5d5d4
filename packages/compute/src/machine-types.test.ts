// Machine types to memory limits, and boot disk sizes to the instance's disk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_INSTANCE_DISK_BYTES, instanceDiskBytes, resolveMachineType } from './machine-types.ts';

const GIB = 1024 ** 3;

test('machine types resolve to their memory, whatever form gcloud sends them in', () => {
  const cases: [string | undefined, number][] = [
    ['zones/us-central1-a/machineTypes/n2d-standard-2', 8 * GIB],
    ['https://compute.googleapis.com/compute/v1/projects/p/zones/z/machineTypes/c3-highmem-4', 32 * GIB],
    ['n2d-highcpu-8', 8 * GIB],
    ['e2-micro', 1 * GIB],
    ['n2d-custom-2-3072', 3072 * 1024 ** 2],
    [undefined, 3.75 * GIB],
  ];
  for (const [type, bytes] of cases) assert.equal(resolveMachineType(type).memoryBytes, bytes, String(type));
});

test('a machine type compute does not know is refused as Compute Engine refuses it', () => {
  for (const type of ['n2d-standard-3', 'x9-standard-2', 'n2d-superhigh-2', 'zones/z/machineTypes/'])
    assert.throws(() => resolveMachineType(type), /Invalid value for field 'resource.machineType'/, type);
});

test('the disk is 7 GiB, or the boot disk less 5 GiB when that is larger', () => {
  assert.equal(instanceDiskBytes(undefined), DEFAULT_INSTANCE_DISK_BYTES);
  assert.equal(instanceDiskBytes([{ boot: true, initializeParams: { diskSizeGb: '10' } }]), 7 * GIB);
  assert.equal(instanceDiskBytes([{ boot: true, initializeParams: { diskSizeGb: '20' } }]), 15 * GIB);
  assert.equal(instanceDiskBytes([{ boot: true, initializeParams: { diskSizeGb: 100 } }]), 95 * GIB);
  assert.equal(instanceDiskBytes([{ boot: true, initializeParams: { diskSizeGb: 'lots' } }]), 7 * GIB);
});
