// Pub/Sub's configuration fragment: message backend, emulator port, pull wait and retention sweep (SEALROOM_PUBSUB_*).
import { CoreError } from '@sealroom/core';
import { type ConfigValues, defineConfigFragment, parseConfigFragment, readConfigEnv } from '@sealroom/transport';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535).optional();

export const pubsubConfigFragment = defineConfigFragment({
  name: 'pubsub',
  title: 'Pub/Sub',
  section: 'pubsub',
  envPrefix: 'SEALROOM_PUBSUB_',
  intro:
    'The emulator port has no caller identity and does not consult IAM: anyone who reaches it reads and writes every topic and subscription. So it runs only with `--dev`; a server without `--dev` refuses to start with it unless it is asked for by its unsafe name. See [pubsub.md](pubsub.md#the-emulator-port-off-by-default-dev-only).',
  keys: {
    backend: {
      schema: z
        .string()
        .regex(/^(sql|nats:\/\/[^\s/]+(,\s*nats:\/\/[^\s/]+)*)$/, 'expected `sql` or `nats://host:port`')
        .default('sql'),
      env: 'SEALROOM_PUBSUB_BACKEND',
      flag: 'pubsub-backend',
      description:
        'Where messages and their delivery state live: `sql` (the server’s database) or `nats://host:port` (NATS JetStream; several URLs comma-separated for a cluster), which replicas of the server can share. Topic and subscription records stay in the database either way. See [pubsub.md](pubsub.md#nats-jetstream-backend).',
    },
    emulatorPort: {
      schema: port,
      env: 'SEALROOM_PUBSUB_EMULATOR_PORT',
      flag: 'emulator-port',
      defaultText: 'off',
      description:
        'Plaintext Pub/Sub gRPC port for `PUBSUB_EMULATOR_HOST` clients, only with `--dev` (no caller identity, IAM not enforced). `0` picks a free port.',
    },
    unsafeEmulatorPort: {
      schema: port,
      env: 'SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT',
      flag: 'unsafe-emulator-port',
      defaultText: 'off',
      description:
        'The same port on a server without `--dev`: anyone who reaches it reads and writes every topic and subscription. Set it or `emulatorPort`, not both.',
    },
    emulatorHost: {
      schema: z.string().min(1).default('127.0.0.1'),
      env: 'SEALROOM_PUBSUB_EMULATOR_HOST',
      description: 'Address the emulator port binds to.',
    },
    pullWaitMs: {
      schema: z.number().int().min(0).max(60_000).default(1000),
      env: 'SEALROOM_PUBSUB_PULL_WAIT_MS',
      description: 'How long a unary Pull without `returnImmediately` waits for messages.',
    },
    purgeIntervalMs: {
      schema: z.number().int().min(1000).max(86_400_000).default(60_000),
      env: 'SEALROOM_PUBSUB_PURGE_INTERVAL_MS',
      description: 'How often messages past their subscription’s retention are dropped.',
    },
  },
  check(values) {
    if (values.emulatorPort !== undefined && values.unsafeEmulatorPort !== undefined) {
      throw new CoreError(
        'ERR_CONFIG',
        'Set the emulator port (emulatorPort, --emulator-port, SEALROOM_PUBSUB_EMULATOR_PORT; dev mode) or its unsafe form (unsafeEmulatorPort, --unsafe-emulator-port, SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT), not both.',
      );
    }
  },
});

/** The fragment's values as the configuration file and variables give them. */
export type PubsubConfigValues = ConfigValues<typeof pubsubConfigFragment.keys>;

/** The settings the module runs with. */
export interface PubsubConfig {
  /** NATS server URL(s) when messages live in JetStream; undefined for the SQL store. */
  readonly natsUrl?: string;
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

/** The module's settings from the fragment's values: one emulator port, marked unsafe when asked for so. */
export function toPubsubConfig(values: PubsubConfigValues): PubsubConfig {
  const emulatorPort = values.unsafeEmulatorPort ?? values.emulatorPort;
  return {
    ...(values.backend !== 'sql' ? { natsUrl: values.backend } : {}),
    ...(emulatorPort !== undefined ? { emulatorPort } : {}),
    ...(values.unsafeEmulatorPort !== undefined ? { emulatorUnsafe: true } : {}),
    emulatorHost: values.emulatorHost,
    pullWaitMs: values.pullWaitMs,
    purgeIntervalMs: values.purgeIntervalMs,
  };
}

/** Reads the settings from SEALROOM_PUBSUB_* alone (the service run without the server's configuration). */
export function loadPubsubConfig(env: NodeJS.ProcessEnv): PubsubConfig {
  const { values, sources } = readConfigEnv(pubsubConfigFragment, env);
  return toPubsubConfig(parseConfigFragment(pubsubConfigFragment, values, sources));
}
