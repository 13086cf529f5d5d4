// The server's configuration: defaults, then an optional JSON file, then SEALROOM_* variables, then flags.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreError } from '@sealroom/core';
import { type OutboundPolicy, resolvePolicy } from '@sealroom/outbound';
import { z } from 'zod';

export const SERVICE_NAMES = ['iam', 'sts', 'kms', 'secrets', 'pubsub', 'registry', 'verifier', 'compute'] as const;

export const ServerConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** gRPC over TLS (KMS, Pub/Sub); 0 picks a free port; -1 disables. */
    grpcPort: z.number().int().min(-1).max(65535).default(8443),
    stateDir: z.string().min(1).default('.sealroom'),
    dev: z.boolean().default(false),
    only: z.array(z.string()).optional(),
    universeDomain: z
      .string()
      .regex(/^[a-z0-9.-]+$/)
      .default('googleapis.com'),
    /** Public base URL; defaults to http://HOST:PORT as listened on. */
    baseUrl: z.string().url().optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Root key file; defaults to <stateDir>/keys/root.key. */
    rootKeyFile: z.string().optional(),
    shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
    /** Hosts (`host` or `host:port`) outbound requests may reach over plain http (issuers, registries). */
    outboundHttpHosts: z.array(z.string()).default([]),
    /** CIDR ranges of non-public addresses (loopback, private, link-local) outbound requests may reach. */
    outboundAllowedRanges: z.array(z.string()).default([]),
  })
  .strict();

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

const ENV: Readonly<Record<string, [keyof ServerConfig, 'string' | 'number' | 'boolean' | 'list']>> = {
  SEALROOM_HOST: ['host', 'string'],
  SEALROOM_PORT: ['port', 'number'],
  SEALROOM_GRPC_PORT: ['grpcPort', 'number'],
  SEALROOM_STATE_DIR: ['stateDir', 'string'],
  SEALROOM_DEV: ['dev', 'boolean'],
  SEALROOM_ONLY: ['only', 'list'],
  SEALROOM_UNIVERSE_DOMAIN: ['universeDomain', 'string'],
  SEALROOM_BASE_URL: ['baseUrl', 'string'],
  SEALROOM_LOG_LEVEL: ['logLevel', 'string'],
  SEALROOM_ROOT_KEY_FILE: ['rootKeyFile', 'string'],
  SEALROOM_OUTBOUND_HTTP_HOSTS: ['outboundHttpHosts', 'list'],
  SEALROOM_OUTBOUND_ALLOWED_RANGES: ['outboundAllowedRanges', 'list'],
};

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof ServerConfig, unknown>> {
  const out: Partial<Record<keyof ServerConfig, unknown>> = {};
  for (const [name, [key, type]] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (type === 'number') {
      if (!/^-?\d+$/.test(value)) throw new CoreError('ERR_CONFIG', `${name} must be an integer.`);
      out[key] = Number(value);
    } else if (type === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(value))
        throw new CoreError('ERR_CONFIG', `${name} must be true or false.`);
      out[key] = value === 'true' || value === '1';
    } else if (type === 'list') {
      out[key] = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Resolves the configuration; `configFile` defaults to `<stateDir>/config.json` when that exists. */
export function resolveServerConfig(
  flags: ServerConfigInput,
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): ServerConfig {
  const envValues = fromEnv(env);
  const stateDir = String(flags.stateDir ?? envValues.stateDir ?? '.sealroom');
  const file = configFile ?? join(stateDir, 'config.json');
  let fileValues: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fileValues = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new CoreError('ERR_CONFIG', `The configuration file ${file} is not valid JSON.`);
    }
  } else if (configFile) {
    throw new CoreError('ERR_CONFIG', `The configuration file ${configFile} does not exist.`);
  }
  const merged = { ...fileValues, ...envValues, ...stripUndefined(flags) };
  const parsed = ServerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue?.path.join('.');
    throw new CoreError('ERR_CONFIG', `Invalid configuration at '${key}': ${issue?.message ?? 'invalid'}.`);
  }
  const config = parsed.data;
  for (const name of config.only ?? []) {
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new CoreError(
        'ERR_CONFIG',
        `Unknown service '${name}' in --only; known services: ${SERVICE_NAMES.join(', ')}.`,
      );
    }
  }
  for (const [key, policy] of [
    ['outboundHttpHosts', { httpHosts: config.outboundHttpHosts }],
    ['outboundAllowedRanges', { allowedRanges: config.outboundAllowedRanges }],
  ] as const) {
    try {
      resolvePolicy(policy);
    } catch (error) {
      throw new CoreError('ERR_CONFIG', `Invalid configuration at '${key}': ${(error as Error).message}`);
    }
  }
  return { ...config, stateDir: resolve(config.stateDir) };
}

/**
 * The deployment's outbound policy: https to public addresses only, plain http only to the listed
 * hosts, non-public addresses only in the listed ranges; dev mode adds loopback (a verifier on this host).
 */
export function outboundPolicyOf(config: ServerConfig): OutboundPolicy {
  return {
    httpHosts: config.outboundHttpHosts,
    allowedRanges: config.outboundAllowedRanges,
    allowLoopback: config.dev,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
