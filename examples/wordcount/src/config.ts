// The workload's launch configuration: the collaborator set and endpoints, measured into the token, never taken from messages.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { WordcountError } from './errors.ts';

/** A `tee-env-*` variable (allowed by the image's launch policy) or a file baked into the image. */
export const CONFIG_ENV = 'WORDCOUNT_CONFIG';
/**
 * The short form on Google's defaults: only the collaborator set, `PROJECT/NUMBER/POOL/PROVIDER/KEYRING/KEY`
 * per collaborator, comma-separated; the rest comes from the platform (endpoints.json, the metadata server).
 */
export const COLLABORATORS_ENV = 'WORDCOUNT_COLLABORATORS';
export const CONFIG_FILE_ENV = 'WORDCOUNT_CONFIG_FILE';
export const DEFAULT_CONFIG_FILE = '/wordcount/config.json';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a collaborator name is [a-z][a-z0-9-]*');
const kmsKey = z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/);
const httpUrl = z.url({ protocol: /^https?$/ });

const collaboratorSchema = z.strictObject({
  name,
  /** Full name of the collaborator's workload identity pool provider. */
  audience: z.string().startsWith('//iam.'),
  kmsKey,
  /** The collaborator's deployment (its STS, KMS and Secret Manager). */
  api: httpUrl,
  /** Impersonate this service account of the collaborator after the exchange. */
  serviceAccount: z.string().includes('@').optional(),
  /** Where its result goes: a secret of the collaborator (a new version per result). */
  resultSecret: z.string().regex(/^projects\/[^/]+\/secrets\/[^/]+$/),
  /** mTLS ingress: SNI name, and secrets (in the collaborator's project) with server key/cert and client CA. */
  tls: z
    .strictObject({
      serverName: z.string().min(1),
      serverKeySecret: z.string(),
      serverCertSecret: z.string(),
      clientCaSecret: z.string(),
    })
    .optional(),
});

const configSchema = z.strictObject({
  /** The operator's subscription the contributions arrive on. */
  subscription: z.string().regex(/^projects\/[^/]+\/subscriptions\/[^/]+$/),
  /** Absent: Pub/Sub as the instance's attached service account (ADC) at the platform's endpoint. */
  pubsub: z
    .strictObject({
      /** gRPC `host:port` of the operator's Pub/Sub. */
      grpc: z.string().regex(/^[^:]+:\d+$/),
      /** The deployment CA, PEM; without it GRPC_DEFAULT_SSL_ROOTS_FILE_PATH applies. */
      caPem: z.string().optional(),
      tlsServerName: z.string().optional(),
      /** How the workload authenticates to the operator: federation at the operator's STS, impersonating its SA. */
      audience: z.string().startsWith('//iam.'),
      api: httpUrl,
      serviceAccount: z.string().includes('@').optional(),
    })
    .optional(),
  collaborators: z.array(collaboratorSchema).min(1),
  /** Words counted fewer times than this are withheld from results. */
  minCount: z.number().int().min(1).default(1),
  /** Where the sealed state lives, and the collaborator whose KMS key seals it. */
  state: z
    .strictObject({
      /** A file on the instance (survives a workload restart within a boot)… */
      file: z.string().min(1).optional(),
      /** …or a secret of the state collaborator (a version per seal; survives reboots). */
      secret: z
        .string()
        .regex(/^projects\/[^/]+\/secrets\/[^/]+$/)
        .optional(),
      collaborator: name,
      kmsKey,
    })
    .refine((s) => (s.file === undefined) !== (s.secret === undefined), {
      message: 'give exactly one of file and secret',
    }),
  /** Publish results at most this often while counts change, and at the end. */
  resultsIntervalMs: z.number().int().min(100).default(5000),
  /** mTLS ingress port; absent means no ingress. */
  ingressPort: z.number().int().min(0).max(65535).optional(),
});

export type CollaboratorConfig = z.infer<typeof collaboratorSchema>;
export type WordcountConfig = z.infer<typeof configSchema>;

/** Parses the configuration once at the boundary; names must be unique and the state collaborator known. */
export function parseWordcountConfig(text: string): WordcountConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', 'the configuration is not JSON', { cause });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', `invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  const config = parsed.data;
  const names = config.collaborators.map((c) => c.name);
  if (new Set(names).size !== names.length) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', 'collaborator names must be unique');
  }
  if (!names.includes(config.state.collaborator)) {
    throw new WordcountError(
      'ERR_WORDCOUNT_BAD_CONFIG',
      `state.collaborator "${config.state.collaborator}" is unknown`,
    );
  }
  return config;
}

/**
 * `WORDCOUNT_CONFIG` (JSON) wins, else the file named by `WORDCOUNT_CONFIG_FILE`, else the image's file. The short
 * form (`WORDCOUNT_COLLABORATORS`) needs the platform: `resolveWordcountConfig` of the workload reads it.
 */
export function loadWordcountConfig(env: NodeJS.ProcessEnv = process.env): WordcountConfig {
  const inline = env[CONFIG_ENV];
  if (inline) return parseWordcountConfig(inline);
  const file = env[CONFIG_FILE_ENV] || DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', `cannot read the configuration file ${file}`, { cause });
  }
  return parseWordcountConfig(text);
}
