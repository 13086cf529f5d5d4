// The platforms an instance boots on live with the launcher, which boots them; the host agent only resolves
// the deployment's choice and hands it to `sealroom launcher`.
export {
  DEFAULT_HARDWARE,
  type BootedPlatform,
  type HardwareSettings,
  type PlatformKind,
  type TpmSettings,
  bootPlatform,
  resolvePlatform,
} from '@sealroom/launcher';
