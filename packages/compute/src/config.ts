// Compute's configuration fragment: which platform instances attest with (SEALROOM_COMPUTE_*).
import { type ConfigValues, defineConfigFragment, readConfigEnv, parseConfigFragment } from '@sealroom/transport';
import { z } from 'zod';

export const PLATFORM_CHOICES = ['auto', 'soft', 'tpm', 'sev-snp', 'tdx'] as const;
export const NETWORK_CHOICES = ['auto', 'isolated', 'host'] as const;
export type PlatformChoice = (typeof PLATFORM_CHOICES)[number];

export const computeConfigFragment = defineConfigFragment({
  name: 'compute',
  title: 'Compute',
  section: 'compute',
  envPrefix: 'SEALROOM_COMPUTE_',
  intro:
    'Remote hosts, and the platform the embedded host agent boots instances on: the in-process soft TPM (dev only: a server without `--dev` refuses to start instances on it), a real TPM 2.0, or the machine’s SEV-SNP or TDX guest interface. See [launcher.md](launcher.md#platforms).',
  keys: {
    platform: {
      schema: z.enum(PLATFORM_CHOICES).default('auto'),
      env: 'SEALROOM_COMPUTE_PLATFORM',
      flag: 'platform',
      description:
        '`soft`, `tpm`, `sev-snp`, `tdx`, or `auto`: `sev-snp` or `tdx` when configfs-tsm names that guest driver as its provider, else `tpm` when the `tpm` address is a simulator socket or an existing device, else `soft`.',
    },
    tpm: {
      schema: z.string().min(1).default('/dev/tpmrm0'),
      env: 'SEALROOM_COMPUTE_TPM',
      flag: 'tpm',
      description:
        'The TPM of the `tpm` platform: a device path (`/dev/tpmrm0`), `tcp://HOST:PORT` or `unix:PATH` (the command socket of a simulator such as swtpm).',
    },
    tpmCtrl: {
      schema: z.string().min(1).optional(),
      env: 'SEALROOM_COMPUTE_TPM_CTRL',
      flag: 'tpm-ctrl',
      defaultText: 'none',
      description:
        'A simulator’s control channel (swtpm `--ctrl`), `tcp://HOST:PORT` or `unix:PATH`: the TPM is power-cycled before each boot, as a reboot resets a hardware TPM. Without it a TPM attests one boot until the machine restarts.',
    },
    network: {
      schema: z.enum(NETWORK_CHOICES).default('auto'),
      env: 'SEALROOM_COMPUTE_NETWORK',
      flag: 'network',
      description:
        'Instance networking. `auto`: each instance in its own network namespace where the host can (root, runc, `ip netns`, nftables); otherwise the host network, which only a `--dev` deployment accepts. `isolated`: never boot without a namespace. `host`: always the host network (says `network isolation: none`). See [compute.md](compute.md#networking).',
    },
    networkPool: {
      schema: z
        .string()
        .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR such as 10.213.0.0/16')
        .default('10.213.0.0/16'),
      env: 'SEALROOM_COMPUTE_NETWORK_POOL',
      flag: 'network-pool',
      description:
        'The private IPv4 range the host carves into one /30 per instance (gateway and instance address); a /30 that overlaps a range the host already routes is skipped.',
    },
    tsmReport: {
      schema: z.string().min(1).default('/sys/kernel/config/tsm/report'),
      env: 'SEALROOM_COMPUTE_TSM_REPORT',
      description:
        'configfs-tsm’s report directory, through which the `sev-snp` and `tdx` platforms get reports and quotes (Linux 6.7 or newer; the `/dev/sev-guest` and `/dev/tdx_guest` ioctls are not used).',
    },
    tdxMeasurements: {
      schema: z.string().min(1).default('/sys/devices/virtual/misc/tdx_guest/measurements'),
      env: 'SEALROOM_COMPUTE_TDX_MEASUREMENTS',
      description:
        'The tdx_guest measurement sysfs directory, whose `rtmr3:sha384` the `tdx` platform extends with each launch event (Linux 6.16 or newer).',
    },
    hostPort: {
      schema: z.number().int().min(-1).max(65535).default(0),
      env: 'SEALROOM_COMPUTE_HOST_PORT',
      flag: 'host-port',
      description:
        'The port remote hosts connect to (HTTP/2 over mutual TLS with the deployment CA, see [hosts.md](hosts.md)); `0` picks a free port (hosts find it at `GET /v1/hosts:channel`), `-1` disables remote hosts.',
    },
    hostAddress: {
      schema: z.string().min(1).optional(),
      env: 'SEALROOM_COMPUTE_HOST_ADDRESS',
      defaultText: 'the host of the base URL',
      description: 'The address the host channel binds to and that hosts are told to connect to.',
    },
    hostLostSeconds: {
      schema: z.number().int().min(1).max(3600).default(15),
      env: 'SEALROOM_COMPUTE_HOST_LOST_SECONDS',
      description:
        'A host whose channel is closed or silent this long is lost: its instances are marked TERMINATED ("host lost"), and the host stops them itself when it cannot reach the control plane for as long.',
    },
    tpmEventLog: {
      schema: z.string().min(1).default('/sys/kernel/security/tpm0/binary_bios_measurements'),
      env: 'SEALROOM_COMPUTE_TPM_EVENT_LOG',
      description:
        'The firmware’s TCG event log of a device TPM. A simulator has none: the host measures the soft firmware’s boot into it.',
    },
  },
});

export type ComputeConfigValues = ConfigValues<typeof computeConfigFragment.keys>;
export type ComputeConfig = ComputeConfigValues;

/** Reads the settings from SEALROOM_COMPUTE_* alone (the service run without the server's configuration). */
export function loadComputeConfig(env: NodeJS.ProcessEnv): ComputeConfig {
  const { values, sources } = readConfigEnv(computeConfigFragment, env);
  return parseConfigFragment(computeConfigFragment, values, sources);
}
