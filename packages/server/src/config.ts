// The server's configuration: its own fragment and each service's, composed into one schema and resolved in order.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreError } from '@sealroom/core';
import { type OutboundPolicy, resolvePolicy } from '@sealroom/outbound';
import { computeConfigFragment } from '@sealroom/compute';
import { pubsubConfigFragment } from '@sealroom/pubsub';
import {
  type ConfigFragment,
  configTextKindOf,
  defineConfigFragment,
  fromConfigText,
  readConfigEnv,
  toConfigError,
} from '@sealroom/transport';
import { verifierConfigFragment } from '@sealroom/verifier';
import { z } from 'zod';

/** `host:port` of a gRPC endpoint: a DNS name, an IPv4 address or a bracketed IPv6 address, and a port. */
const GRPC_ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([1-9][0-9]{0,4})$/;

export const SERVICE_NAMES = ['iam', 'sts', 'kms', 'secrets', 'pubsub', 'registry', 'verifier', 'compute'] as const;

/** The deployment-wide keys, at the top level of the configuration file. */
export const serverConfigFragment = defineConfigFragment({
  name: 'server',
  title: 'Server',
  keys: {
    host: {
      schema: z.string().min(1).default('127.0.0.1'),
      env: 'SEALROOM_HOST',
      flag: 'host',
      description: 'Address the REST (and gRPC) listeners bind to.',
    },
    port: {
      schema: z.number().int().min(0).max(65535).default(8080),
      env: 'SEALROOM_PORT',
      flag: 'port',
      description: 'REST port; `0` picks a free port. The OCI registry is on this port too (`/v2/`).',
    },
    grpcPort: {
      schema: z.number().int().min(-1).max(65535).default(8443),
      env: 'SEALROOM_GRPC_PORT',
      flag: 'grpc-port',
      description:
        'gRPC over TLS (KMS, Pub/Sub) with the deployment CA; `0` picks a free port, `-1` disables. Clients trust `tls/ca.pem` of the state directory.',
    },
    publicGrpcEndpoint: {
      schema: z
        .string()
        .regex(GRPC_ENDPOINT, 'expected HOST:PORT (a DNS name, an IPv4 address or a bracketed IPv6 address)')
        .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be at most 65535')
        .optional(),
      env: 'SEALROOM_PUBLIC_GRPC_ENDPOINT',
      flag: 'public-grpc-endpoint',
      defaultText: '`HOST:GRPC_PORT` of this process',
      description:
        'Where clients and instances reach the gRPC listeners (`lb.example:8443`): the load balancer in front of `sealroom serve` replicas. `endpoints.json`, `GET /v1/endpoints` and the endpoints handed to instances name it, and the TLS certificate covers its host. Set it to the same value on every replica. See [deploy](deploy.md).',
    },
    stateDir: {
      schema: z.string().min(1).default('.sealroom'),
      env: 'SEALROOM_STATE_DIR',
      flag: 'state-dir',
      defaultText: '`./.sealroom`',
      description:
        'State directory: database, root key, CA, registry blobs, instances. Created with mode 0700; its `config.json` is the configuration file when `--config` is not given.',
    },
    databaseUrl: {
      schema: z
        .string()
        .regex(/^postgres(?:ql)?:\/\/[^\s]+$/, 'expected a postgres:// or postgresql:// URL')
        .optional(),
      env: 'SEALROOM_DATABASE_URL',
      flag: 'database-url',
      defaultText: 'SQLite in the state directory',
      description:
        'PostgreSQL for every service’s state (`postgres://USER@HOST:PORT/DATABASE`), shared by any number of `sealroom serve` replicas; without it, SQLite in `<state-dir>/sealroom.db`. Put a password in `~/.pgpass` or `PGPASSWORD`, not in the URL. See [deploy](deploy.md).',
    },
    blobDir: {
      schema: z.string().min(1).optional(),
      env: 'SEALROOM_BLOB_DIR',
      flag: 'blob-dir',
      defaultText: '`<state-dir>/registry`',
      description:
        'Directory of the registry’s blobs; replicas share one (a shared file system when they run on several machines).',
    },
    dev: {
      schema: z.boolean().default(false),
      env: 'SEALROOM_DEV',
      flag: 'dev',
      description:
        'Dev mode: dev login and the soft platform CA trusted, never for real data. Announced with a warning at start.',
    },
    only: {
      schema: z.array(z.string()).optional(),
      env: 'SEALROOM_ONLY',
      flag: 'only',
      defaultText: 'all',
      description: `Services to run besides iam, comma-separated: ${SERVICE_NAMES.filter((s) => s !== 'iam')
        .map((s) => `\`${s}\``)
        .join(', ')}.`,
    },
    universeDomain: {
      schema: z
        .string()
        .regex(/^[a-z0-9.-]+$/)
        .default('googleapis.com'),
      env: 'SEALROOM_UNIVERSE_DOMAIN',
      flag: 'universe-domain',
      description:
        'Universe domain in identifiers (`principal://iam.<universe>/…`, `https://sts.<universe>`), never used for network calls.',
    },
    baseUrl: {
      schema: z.string().url().optional(),
      env: 'SEALROOM_BASE_URL',
      flag: 'base-url',
      defaultText: '`http://HOST:PORT`',
      description:
        'Public URL of the server. It is the OIDC issuers’ base, self links’, key-file `token_uri`’s, and the audience (`BASE_URL/token`) the token endpoint accepts in JWT-bearer assertions besides `https://oauth2.googleapis.com/token`. Set it whenever clients reach the server under another name than `http://HOST:PORT` (a proxy, a DNS name): the request’s `Host` header is never trusted for it.',
    },
    logLevel: {
      schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
      env: 'SEALROOM_LOG_LEVEL',
      flag: 'log-level',
      description:
        'The least severe level logged: `debug`, `info`, `warn`, `error` or `silent`. Logs are JSON lines on stderr, with every field named like a token, key, secret or credential redacted.',
    },
    rootKeyFile: {
      schema: z.string().optional(),
      env: 'SEALROOM_ROOT_KEY_FILE',
      defaultText: '`<state-dir>/keys/root.key`',
      description:
        '32-byte root key (base64), created 0600 on first start; refused if group- or world-readable. A file, never the key itself.',
    },
    metricsBearerTokenFile: {
      schema: z.string().optional(),
      env: 'SEALROOM_METRICS_BEARER_TOKEN_FILE',
      description:
        'A file holding the bearer token a Prometheus scraper presents to `GET /metrics` (its `authorization.credentials_file`). Without it, `/metrics` answers loopback callers of a `--dev` server and nobody else. See [docs/metrics.md](metrics.md).',
    },
    shutdownGraceMs: {
      schema: z.number().int().min(0).max(600_000).default(10_000),
      description:
        "On SIGINT/SIGTERM, how long requests in flight may take before the process exits anyway; never less than the instances' 10 s stop grace plus 5 s, so no workload is left running.",
    },
    outboundHttpHosts: {
      schema: z.array(z.string()).default([]),
      env: 'SEALROOM_OUTBOUND_HTTP_HOSTS',
      description:
        'Hosts (`host` or `host:port`, comma-separated in the variable) the server may reach over plain http: OIDC issuers, registries named by instances. Everything else must be https; `--dev` adds loopback hosts. See [outbound requests](#outbound-requests).',
    },
    outboundAllowedRanges: {
      schema: z.array(z.string()).default([]),
      env: 'SEALROOM_OUTBOUND_ALLOWED_RANGES',
      description:
        'CIDR ranges (`10.20.0.0/16`, `127.0.0.1`; comma-separated in the variable) of non-public addresses the server may reach. Loopback, private, link-local, metadata and reserved addresses are refused otherwise; `--dev` adds loopback.',
    },
  },
  check(values) {
    for (const name of values.only ?? []) {
      if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
        throw new CoreError(
          'ERR_CONFIG',
          `Unknown service '${name}' in --only; known services: ${SERVICE_NAMES.join(', ')}.`,
        );
      }
    }
    for (const [key, policy] of [
      ['outboundHttpHosts', { httpHosts: values.outboundHttpHosts }],
      ['outboundAllowedRanges', { allowedRanges: values.outboundAllowedRanges }],
    ] as const) {
      try {
        resolvePolicy(policy);
      } catch (error) {
        throw new CoreError('ERR_CONFIG', `Invalid configuration at '${key}': ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  },
});

/** Every fragment of the configuration, the server's first: the source of docs/config.md and of `serve`'s flags. */
export const CONFIG_FRAGMENTS: readonly ConfigFragment[] = [
  serverConfigFragment,
  pubsubConfigFragment,
  verifierConfigFragment,
  computeConfigFragment,
];

/** The whole configuration: the server's keys, and each service's fragment under its section. */
export const ServerConfigSchema = serverConfigFragment.schema.extend({
  pubsub: pubsubConfigFragment.schema.prefault({}),
  verifier: verifierConfigFragment.schema.prefault({}),
  compute: computeConfigFragment.schema.prefault({}),
});

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

/** Values and their sources (variable names, by key path) gathered from one layer of configuration. */
interface Layer {
  readonly values: Record<string, unknown>;
  readonly sources: Record<string, string>;
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = { values: {}, sources: {} };
  for (const fragment of CONFIG_FRAGMENTS) {
    const { values, sources } = readConfigEnv(fragment, env);
    const prefix = fragment.section === undefined ? '' : `${fragment.section}.`;
    for (const [key, source] of Object.entries(sources)) layer.sources[`${prefix}${key}`] = source;
    if (fragment.section === undefined) Object.assign(layer.values, values);
    else if (Object.keys(values).length > 0) layer.values[fragment.section] = values;
  }
  return layer;
}

const SECTIONS = new Set(CONFIG_FRAGMENTS.flatMap((f) => (f.section === undefined ? [] : [f.section])));

/** Later layers win key by key; a section of the file merges with the same section from variables and flags. */
function mergeLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const current = out[key];
      out[key] = SECTIONS.has(key) && isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
    }
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Resolves the configuration: defaults, then the JSON file (`configFile`, else `<stateDir>/config.json`
 * when that exists), then SEALROOM_* variables (a service's file variable before its key variables),
 * then `flags`.
 */
export function resolveServerConfig(
  flags: ServerConfigInput,
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): ServerConfig {
  const fromEnv = envLayer(env);
  const stateDir = String(flags.stateDir ?? fromEnv.values.stateDir ?? '.sealroom');
  const file = configFile ?? join(stateDir, 'config.json');
  let fileValues: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fileValues = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new CoreError('ERR_CONFIG', `The configuration file ${file} is not valid JSON.`);
    }
    if (!isPlainObject(fileValues))
      throw new CoreError('ERR_CONFIG', `The configuration file ${file} is not an object.`);
  } else if (configFile) {
    throw new CoreError('ERR_CONFIG', `The configuration file ${configFile} does not exist.`);
  }
  const parsed = ServerConfigSchema.safeParse(mergeLayers(fileValues, fromEnv.values, flags));
  if (!parsed.success) throw toConfigError(parsed.error, fromEnv.sources);
  const config = parsed.data;
  serverConfigFragment.check?.(config);
  pubsubConfigFragment.check?.(config.pubsub);
  verifierConfigFragment.check?.(config.verifier);
  return { ...config, stateDir: resolve(config.stateDir) };
}

/** `sealroom serve`'s flags (the fragments' `flag` names, as typed) as configuration input. */
export function configFromFlags(flags: Readonly<Record<string, unknown>>): ServerConfigInput {
  const out: Record<string, unknown> = {};
  for (const fragment of CONFIG_FRAGMENTS) {
    for (const [name, key] of Object.entries(fragment.keys)) {
      const given = key.flag === undefined ? undefined : flags[key.flag];
      if (given === undefined) continue;
      const value = typeof given === 'string' ? fromConfigText(configTextKindOf(key), given, `--${key.flag}`) : given;
      if (fragment.section === undefined) out[name] = value;
      else out[fragment.section] = { ...(out[fragment.section] as object | undefined), [name]: value };
    }
  }
  return out as ServerConfigInput;
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
