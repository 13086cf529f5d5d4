// Pub/Sub service settings from SEALROOM_PUBSUB_* environment variables (documented in docs/pubsub.md).
import { CoreError } from '@sealroom/core';

export interface PubsubConfig {
  /** Plaintext, identity-free gRPC port for emulator-style tools; undefined (off) by default. */
  readonly emulatorPort?: number;
  readonly emulatorHost: string;
  /**
   * The operator asked for the emulator port by its unsafe name (SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT,
   * `--unsafe-emulator-port`); without it the port runs only on a dev-mode server.
   */
  readonly emulatorUnsafe?: boolean;
  /** How long a unary Pull without returnImmediately waits for messages. */
  readonly pullWaitMs: number;
  /** How often messages past their subscription's retention are dropped. */
  readonly purgeIntervalMs: number;
}

const KEYS = new Set([
  'SEALROOM_PUBSUB_EMULATOR_PORT',
  'SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT',
  'SEALROOM_PUBSUB_EMULATOR_HOST',
  'SEALROOM_PUBSUB_PULL_WAIT_MS',
  'SEALROOM_PUBSUB_PURGE_INTERVAL_MS',
]);

function intOf(env: NodeJS.ProcessEnv, key: string, min: number, max: number): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CoreError('ERR_CONFIG', `${key} must be an integer between ${min} and ${max}.`);
  }
  return value;
}

/** Reads the settings; unknown SEALROOM_PUBSUB_* keys are refused so a typo does not pass silently. */
export function loadPubsubConfig(env: NodeJS.ProcessEnv): PubsubConfig {
  for (const key of Object.keys(env)) {
    if (key.startsWith('SEALROOM_PUBSUB_') && !KEYS.has(key)) {
      throw new CoreError('ERR_CONFIG', `Unknown setting ${key}.`);
    }
  }
  const devPort = intOf(env, 'SEALROOM_PUBSUB_EMULATOR_PORT', 0, 65535);
  const unsafePort = intOf(env, 'SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT', 0, 65535);
  if (devPort !== undefined && unsafePort !== undefined) {
    throw new CoreError(
      'ERR_CONFIG',
      'Set SEALROOM_PUBSUB_EMULATOR_PORT (dev mode) or SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT, not both.',
    );
  }
  const emulatorPort = unsafePort ?? devPort;
  return {
    ...(emulatorPort !== undefined ? { emulatorPort } : {}),
    ...(unsafePort !== undefined ? { emulatorUnsafe: true } : {}),
    emulatorHost: env.SEALROOM_PUBSUB_EMULATOR_HOST || '127.0.0.1',
    pullWaitMs: intOf(env, 'SEALROOM_PUBSUB_PULL_WAIT_MS', 0, 60_000) ?? 1000,
    purgeIntervalMs: intOf(env, 'SEALROOM_PUBSUB_PURGE_INTERVAL_MS', 1000, 86_400_000) ?? 60_000,
  };
}
