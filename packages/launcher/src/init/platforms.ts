// The platform an instance boots on: the in-process soft TPM, a real TPM 2.0 (device or simulator), or the
// machine's SEV-SNP or TDX guest interface (configfs-tsm).
import { accessSync, constants, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  type ImageFamily,
  type KernelFs,
  type InstanceInfo,
  type Platform,
  type PlatformCa,
  CONFIGFS_TSM_REPORT_ROOT,
  TDX_MEASUREMENTS_ROOT,
  bootSevSnpPlatform,
  bootSoftPlatform,
  bootTdxPlatform,
  type AkCertifier,
  type AkEnroller,
  bootSoftPlatformCertifiedBy,
  bootTpmPlatform,
  openTpm,
  probeTsmProvider,
  resetTpmSimulator,
} from '@sealroom/attest';
import { LauncherError } from '../errors.ts';

export type PlatformKind = 'soft' | 'tpm' | 'sev-snp' | 'tdx';
export type PlatformChoice = PlatformKind | 'auto';

/** Where the SEV-SNP and TDX guest interfaces are (configurable so a test can point at an imitation). */
export interface HardwareSettings {
  /** configfs-tsm's report directory. */
  readonly tsmReport: string;
  /** The tdx_guest measurement sysfs directory (RTMR extension). */
  readonly tdxMeasurements: string;
  /** The kernel interface's file operations: the real ones unless a test imitates the kernel. */
  readonly fs?: KernelFs;
}

export const DEFAULT_HARDWARE: HardwareSettings = {
  tsmReport: CONFIGFS_TSM_REPORT_ROOT,
  tdxMeasurements: TDX_MEASUREMENTS_ROOT,
};

/** Where a `tpm` platform's TPM is and where its firmware event log lies (a device TPM's only). */
export interface TpmSettings {
  readonly address: string;
  readonly eventLog?: string;
  /** A simulator's control channel: power-cycled before each boot, as a reboot resets a hardware TPM. */
  readonly ctrl?: string;
}

/**
 * `auto`: sev-snp or tdx when configfs-tsm names that guest driver as its provider; else tpm when the address is
 * a simulator socket or a device this process may read and write; else soft (which only a dev deployment boots).
 */
export async function resolvePlatform(
  choice: PlatformChoice,
  tpm: TpmSettings,
  hardware: HardwareSettings = DEFAULT_HARDWARE,
): Promise<PlatformKind> {
  if (choice !== 'auto') return choice;
  const provider = await probeTsmProvider({
    root: hardware.tsmReport,
    ...(hardware.fs === undefined ? {} : { fs: hardware.fs }),
  });
  if (provider === 'sev_guest') return 'sev-snp';
  if (provider === 'tdx_guest') return 'tdx';
  if (!tpm.address.startsWith('/')) return 'tpm';
  try {
    accessSync(tpm.address, constants.R_OK | constants.W_OK);
    return 'tpm';
  } catch {
    return 'soft';
  }
}

/**
 * The host agent's certification, over the report channel: the platform CA's private key stays in the host,
 * which certifies for the instance it booted.
 */
export interface HostCertification {
  /** The soft platform's AK. */
  readonly certifyAk: AkCertifier;
  /** The identity key of the sev-snp and tdx platforms. */
  readonly certifyIdentity: AkCertifier;
  /** The CA's side of a TPM's AK enrolment (MakeCredential, and the certificate once the TPM activated it). */
  readonly enrolAk: AkEnroller;
}

export interface BootPlatformOptions {
  readonly kind: PlatformKind;
  readonly tpm: TpmSettings;
  readonly hardware?: HardwareSettings;
  /**
   * The platform CA here, the host agent's certification (a launcher under a host), or (the soft platform only)
   * a certifier that asks the control plane.
   */
  readonly ca: PlatformCa | HostCertification | AkCertifier;
  readonly instance: Omit<InstanceInfo, 'securityVersion' | 'isProduction'>;
  readonly launcherBuild: string;
  readonly imageFamily: ImageFamily;
  readonly nowMs: number;
}

export interface BootedPlatform {
  readonly platform: Platform;
  /** For the serial console: which platform, and for a TPM, which one. */
  readonly description: string;
  close(): Promise<void>;
}

/** Boots one platform for one boot of an instance; `close` releases the TPM. */
export async function bootPlatform(options: BootPlatformOptions): Promise<BootedPlatform> {
  const { ca } = options;
  if (typeof ca === 'function') {
    if (options.kind !== 'soft')
      throw new LauncherError(
        'ERR_LAUNCHER_USAGE',
        'A platform whose AK is certified remotely boots on the soft platform only.',
      );
    const { kind: _kind, tpm: _tpm, ca: _ca, ...rest } = options;
    const platform = await bootSoftPlatformCertifiedBy(rest, ca);
    return { platform, description: 'the soft platform (AK certified through the host agent)', close: async () => {} };
  }
  const hosted = 'enrolAk' in ca ? ca : undefined;
  if (hosted && options.kind === 'soft') {
    const { kind: _kind, tpm: _tpm, ca: _ca, ...rest } = options;
    const platform = await bootSoftPlatformCertifiedBy(rest, hosted.certifyAk);
    return { platform, description: 'the soft platform (AK certified through the host agent)', close: async () => {} };
  }
  const common = {
    ca: hosted ? hosted.enrolAk : (ca as PlatformCa),
    instance: options.instance,
    launcherBuild: options.launcherBuild,
    imageFamily: options.imageFamily,
    nowMs: options.nowMs,
  };
  if (options.kind === 'soft') {
    return {
      platform: bootSoftPlatform({ ...common, ca: ca as PlatformCa }),
      description: 'the soft platform',
      close: async () => {},
    };
  }
  const hardware = options.hardware ?? DEFAULT_HARDWARE;
  const identity = {
    ca: hosted ? hosted.certifyIdentity : (ca as PlatformCa),
    instance: options.instance,
    nowMs: options.nowMs,
  };
  const fs = hardware.fs === undefined ? {} : { fs: hardware.fs };
  if (options.kind === 'sev-snp') {
    return {
      platform: await bootSevSnpPlatform({ ...identity, tsm: { root: hardware.tsmReport, ...fs } }),
      description: `the sev-snp platform (configfs-tsm ${hardware.tsmReport})`,
      close: async () => {},
    };
  }
  if (options.kind === 'tdx') {
    const platform = await bootTdxPlatform({
      ...identity,
      tsm: { root: hardware.tsmReport, ...fs },
      rtmr: { root: hardware.tdxMeasurements, ...fs },
    });
    return {
      platform,
      description: `the tdx platform (configfs-tsm ${hardware.tsmReport}, RTMR 3)`,
      close: async () => {},
    };
  }
  const { address, eventLog, ctrl } = options.tpm;
  if (ctrl !== undefined) await resetTpmSimulator(ctrl);
  // A device TPM was measured by the machine's firmware; a simulator is fresh and measured by the host.
  const firmwareEventLog =
    address.startsWith('/') && eventLog !== undefined && existsSync(eventLog) ? await readFile(eventLog) : undefined;
  const tpm = await openTpm(address);
  try {
    const platform = await bootTpmPlatform({ ...common, tpm, ...(firmwareEventLog ? { firmwareEventLog } : {}) });
    const source = platform.akCertificateFromNv ? 'AK certificate from NV' : 'AK certified by the platform CA';
    return {
      platform,
      description: `the tpm platform (${address}; ${source})`,
      // A simulator is power-cycled at the next boot: shut it down in order, so resets do not count as attacks.
      close: () => platform.close({ shutdown: ctrl !== undefined }),
    };
  } catch (error) {
    await tpm.close().catch(() => undefined);
    throw error;
  }
}
