// `sealroom kms …`: key rings, keys, versions, IAM bindings, encrypt/decrypt and asymmetric-sign (gcloud flags).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding, getIamPolicy } from '../iam-helpers.ts';
import { ApiError } from '../errors.ts';

const LOCATION: FlagSpec = { type: 'string', description: 'Location of the key ring (e.g. global).', required: true };
const KEYRING: FlagSpec = { type: 'string', description: 'Key ring of the key.', required: true };
const KEY_FLAGS = { location: LOCATION, keyring: KEYRING } as const;
const VERSION_FLAGS = {
  ...KEY_FLAGS,
  key: { type: 'string', description: 'Key of the version.', required: true },
} as const;

/** gcloud's --purpose words → Cloud KMS purposes. */
const PURPOSES: Readonly<Record<string, string>> = {
  encryption: 'ENCRYPT_DECRYPT',
  'asymmetric-signing': 'ASYMMETRIC_SIGN',
  'asymmetric-encryption': 'ASYMMETRIC_DECRYPT',
};

const seg = (value: unknown) => encodeURIComponent(String(value));

function ringName(ctx: CommandContext, ring = ctx.flags.keyring): string {
  return `projects/${seg(ctx.project())}/locations/${seg(ctx.flags.location)}/keyRings/${seg(ring)}`;
}

/** A key given by id (with --keyring/--location) or as a full resource name. */
function keyName(ctx: CommandContext, key: unknown): string {
  const text = String(key);
  return text.startsWith('projects/') ? text : `${ringName(ctx)}/cryptoKeys/${seg(text)}`;
}

/**
 * Runs a use of `key` (a key or version name); a refusal says which role grants the use and the command the
 * key's owner runs to grant it. The server's own message stays first: denied and missing look the same.
 */
async function usingKey<T>(ctx: CommandContext, key: string, role: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)/.exec(key);
    if (!(error instanceof ApiError) || error.httpStatus !== 403 || !m) throw error;
    let account = 'YOU@EXAMPLE.COM';
    try {
      account = ctx.api.account();
    } catch {
      // no active account: the placeholder stays
    }
    const member = `${account.endsWith('.gserviceaccount.com') ? 'serviceAccount' : 'user'}:${account}`;
    throw new ApiError(
      403,
      `${error.message}\nIf the key exists, ${account} needs ${role} on it; its owner grants that with:\n` +
        `  sealroom kms keys add-iam-policy-binding ${m[4]} --keyring=${m[3]} --location=${m[2]} --project=${m[1]} --member=${member} --role=${role}`,
      error.reason,
    );
  }
}

function versionName(ctx: CommandContext, version: unknown): string {
  const text = String(version);
  return text.startsWith('projects/') ? text : `${keyName(ctx, ctx.flags.key)}/cryptoKeyVersions/${seg(text)}`;
}

/** Reads a file, or stdin for '-'. */
function readInput(path: string): Buffer {
  return readFileSync(path === '-' ? 0 : path);
}

function writeOutput(ctx: CommandContext, path: string, data: Buffer | string): void {
  if (path === '-') ctx.out(typeof data === 'string' ? data : data.toString('latin1'));
  else writeFileSync(path, data);
}

/** gcloud's duration syntax for --rotation-period: 30d, 12h, 90m, 100s → protobuf Duration JSON. */
export function toDurationJson(text: string): string {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new UsageError(`Invalid duration [${text}]: use e.g. 30d, 12h or 3600s.`);
  const factor = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return `${Number(match[1]) * factor}s`;
}

export const kmsCommands: CommandSpec[] = [
  {
    path: ['kms', 'keyrings', 'create'],
    summary: 'Creates a key ring.',
    args: [{ name: 'KEYRING', required: true }],
    flags: { location: LOCATION },
    run: (ctx) =>
      ctx.api.request('POST', `/v1/projects/${seg(ctx.project())}/locations/${seg(ctx.flags.location)}/keyRings`, {
        query: { keyRingId: String(ctx.args.KEYRING) },
        body: {},
      }),
  },
  {
    path: ['kms', 'keyrings', 'list'],
    summary: 'Lists the key rings of a location.',
    defaultFormat: 'table(name)',
    flags: { location: LOCATION },
    async run(ctx) {
      const path = `/v1/projects/${seg(ctx.project())}/locations/${seg(ctx.flags.location)}/keyRings`;
      return (await ctx.api.request<{ keyRings?: unknown[] }>('GET', path)).keyRings ?? [];
    },
  },
  {
    path: ['kms', 'keys', 'create'],
    summary: 'Creates a key (and its first version).',
    args: [{ name: 'KEY', required: true }],
    flags: {
      ...KEY_FLAGS,
      purpose: {
        type: 'string',
        description: 'encryption, asymmetric-signing or asymmetric-encryption.',
        required: true,
      },
      'default-algorithm': { type: 'string', description: 'e.g. ec-sign-p256-sha256, rsa-decrypt-oaep-2048-sha256.' },
      'rotation-period': { type: 'string', description: 'Automatic rotation period, e.g. 90d (encryption keys).' },
      'next-rotation-time': { type: 'string', description: 'RFC 3339 time of the first automatic rotation.' },
      'skip-initial-version-creation': { type: 'boolean', description: 'Create the key without a version.' },
      labels: { type: 'string', description: 'KEY=VALUE,… labels.' },
    },
    run(ctx) {
      const purpose = PURPOSES[String(ctx.flags.purpose)];
      if (!purpose)
        throw new UsageError(`Invalid --purpose [${ctx.flags.purpose}]: use ${Object.keys(PURPOSES).join(', ')}.`);
      const algorithm = ctx.flags['default-algorithm'];
      const labels = ctx.flags.labels
        ? Object.fromEntries(
            String(ctx.flags.labels)
              .split(',')
              .map((kv) => kv.split('=') as [string, string]),
          )
        : undefined;
      return ctx.api.request('POST', `/v1/${ringName(ctx)}/cryptoKeys`, {
        query: {
          cryptoKeyId: String(ctx.args.KEY),
          ...(ctx.flags['skip-initial-version-creation'] ? { skipInitialVersionCreation: 'true' } : {}),
        },
        body: {
          purpose,
          ...(algorithm ? { versionTemplate: { algorithm: String(algorithm).toUpperCase().replace(/-/g, '_') } } : {}),
          ...(ctx.flags['rotation-period']
            ? { rotationPeriod: toDurationJson(String(ctx.flags['rotation-period'])) }
            : {}),
          ...(ctx.flags['next-rotation-time'] ? { nextRotationTime: String(ctx.flags['next-rotation-time']) } : {}),
          ...(labels ? { labels } : {}),
        },
      });
    },
  },
  {
    path: ['kms', 'keys', 'list'],
    summary: 'Lists the keys of a key ring.',
    defaultFormat:
      'table(name, purpose, versionTemplate.algorithm:label=ALGORITHM, versionTemplate.protectionLevel:label=PROTECTION_LEVEL, primary.name.basename():label=PRIMARY_ID, primary.state:label=PRIMARY_STATE)',
    flags: KEY_FLAGS,
    async run(ctx) {
      return (
        (await ctx.api.request<{ cryptoKeys?: unknown[] }>('GET', `/v1/${ringName(ctx)}/cryptoKeys`)).cryptoKeys ?? []
      );
    },
  },
  {
    path: ['kms', 'keys', 'describe'],
    summary: 'Shows a key.',
    args: [{ name: 'KEY', required: true }],
    flags: KEY_FLAGS,
    run: (ctx) => ctx.api.request('GET', `/v1/${keyName(ctx, ctx.args.KEY)}`),
  },
  {
    path: ['kms', 'keys', 'get-iam-policy'],
    summary: "Shows a key's IAM policy.",
    args: [{ name: 'KEY', required: true }],
    flags: KEY_FLAGS,
    run: (ctx) => getIamPolicy(ctx.api, `/v1/${keyName(ctx, ctx.args.KEY)}`),
  },
  ...(['add', 'remove'] as const).map(
    (verb): CommandSpec => ({
      path: ['kms', 'keys', `${verb}-iam-policy-binding`],
      summary: `${verb === 'add' ? 'Adds a binding to' : 'Removes a binding from'} a key's IAM policy.`,
      args: [{ name: 'KEY', required: true }],
      flags: { ...KEY_FLAGS, ...BINDING_FLAGS },
      async run(ctx) {
        const policy = await changeIamPolicyBinding(ctx.api, `/v1/${keyName(ctx, ctx.args.KEY)}`, {
          member: ctx.flags.member as string,
          role: ctx.flags.role as string,
          ...(verb === 'remove' ? { remove: true } : {}),
        });
        ctx.err(`Updated IAM policy for key [${ctx.args.KEY}].`);
        return policy;
      },
    }),
  ),
  {
    path: ['kms', 'keys', 'versions', 'list'],
    summary: 'Lists the versions of a key.',
    defaultFormat: 'table(name, state)',
    flags: { location: LOCATION, keyring: KEYRING, key: VERSION_FLAGS.key },
    async run(ctx) {
      const path = `/v1/${keyName(ctx, ctx.flags.key)}/cryptoKeyVersions`;
      return (await ctx.api.request<{ cryptoKeyVersions?: unknown[] }>('GET', path)).cryptoKeyVersions ?? [];
    },
  },
  {
    path: ['kms', 'keys', 'versions', 'create'],
    summary: 'Creates a new version of a key.',
    flags: { ...VERSION_FLAGS, primary: { type: 'boolean', description: 'Make it the primary version.' } },
    async run(ctx) {
      const key = keyName(ctx, ctx.flags.key);
      const version = await ctx.api.request<{ name: string }>('POST', `/v1/${key}/cryptoKeyVersions`, { body: {} });
      if (ctx.flags.primary) {
        await ctx.api.request('POST', `/v1/${key}:updatePrimaryVersion`, {
          body: { cryptoKeyVersionId: version.name.split('/').at(-1) },
        });
      }
      return version;
    },
  },
  ...(
    [
      ['disable', 'Disables a key version.'],
      ['enable', 'Enables a key version.'],
    ] as const
  ).map(
    ([verb, summary]): CommandSpec => ({
      path: ['kms', 'keys', 'versions', verb],
      summary,
      args: [{ name: 'VERSION', required: true }],
      flags: VERSION_FLAGS,
      run: (ctx) =>
        ctx.api.request('PATCH', `/v1/${versionName(ctx, ctx.args.VERSION)}`, {
          query: { updateMask: 'state' },
          body: { state: verb === 'disable' ? 'DISABLED' : 'ENABLED' },
        }),
    }),
  ),
  {
    path: ['kms', 'keys', 'versions', 'destroy'],
    summary: 'Schedules a key version for destruction.',
    args: [{ name: 'VERSION', required: true }],
    flags: VERSION_FLAGS,
    run: (ctx) => ctx.api.request('POST', `/v1/${versionName(ctx, ctx.args.VERSION)}:destroy`, { body: {} }),
  },
  {
    path: ['kms', 'keys', 'versions', 'get-public-key'],
    summary: 'Writes the PEM public key of an asymmetric key version.',
    args: [{ name: 'VERSION', required: true }],
    flags: {
      ...VERSION_FLAGS,
      'output-file': { type: 'string', description: "File to write the PEM to ('-' for stdout)." },
    },
    async run(ctx) {
      const key = await ctx.api.request<{ pem: string }>('GET', `/v1/${versionName(ctx, ctx.args.VERSION)}/publicKey`);
      writeOutput(ctx, (ctx.flags['output-file'] as string | undefined) ?? '-', key.pem);
      return undefined;
    },
  },
  {
    path: ['kms', 'encrypt'],
    summary: 'Encrypts a file with a key (its primary version, or --version).',
    flags: {
      ...VERSION_FLAGS,
      version: { type: 'string', description: 'Version to use instead of the primary.' },
      'plaintext-file': { type: 'string', description: "File to encrypt ('-' for stdin).", required: true },
      'ciphertext-file': { type: 'string', description: "File to write ('-' for stdout).", required: true },
      'additional-authenticated-data-file': { type: 'string', description: 'File with the AAD.' },
    },
    async run(ctx) {
      const name = ctx.flags.version ? versionName(ctx, ctx.flags.version) : keyName(ctx, ctx.flags.key);
      const aadFile = ctx.flags['additional-authenticated-data-file'] as string | undefined;
      const body = {
        plaintext: readInput(ctx.flags['plaintext-file'] as string).toString('base64'),
        ...(aadFile ? { additionalAuthenticatedData: readInput(aadFile).toString('base64') } : {}),
      };
      const result = await usingKey(ctx, name, 'roles/cloudkms.cryptoKeyEncrypter', () =>
        ctx.api.request<{ ciphertext: string }>('POST', `/v1/${name}:encrypt`, { body }),
      );
      writeOutput(ctx, ctx.flags['ciphertext-file'] as string, Buffer.from(result.ciphertext, 'base64'));
      return undefined;
    },
  },
  {
    path: ['kms', 'decrypt'],
    summary: 'Decrypts a file with a key.',
    flags: {
      ...VERSION_FLAGS,
      'ciphertext-file': { type: 'string', description: "File to decrypt ('-' for stdin).", required: true },
      'plaintext-file': { type: 'string', description: "File to write ('-' for stdout).", required: true },
      'additional-authenticated-data-file': { type: 'string', description: 'File with the AAD.' },
    },
    async run(ctx) {
      const aadFile = ctx.flags['additional-authenticated-data-file'] as string | undefined;
      const name = keyName(ctx, ctx.flags.key);
      const body = {
        ciphertext: readInput(ctx.flags['ciphertext-file'] as string).toString('base64'),
        ...(aadFile ? { additionalAuthenticatedData: readInput(aadFile).toString('base64') } : {}),
      };
      const result = await usingKey(ctx, name, 'roles/cloudkms.cryptoKeyDecrypter', () =>
        ctx.api.request<{ plaintext?: string }>('POST', `/v1/${name}:decrypt`, { body }),
      );
      writeOutput(ctx, ctx.flags['plaintext-file'] as string, Buffer.from(result.plaintext ?? '', 'base64'));
      return undefined;
    },
  },
  {
    path: ['kms', 'asymmetric-sign'],
    summary: 'Signs the digest of a file with an asymmetric signing key version.',
    flags: {
      ...VERSION_FLAGS,
      version: { type: 'string', description: 'Key version to sign with.', required: true },
      'digest-algorithm': { type: 'string', description: 'sha256 or sha384.', required: true },
      'input-file': { type: 'string', description: "File whose digest is signed ('-' for stdin).", required: true },
      'signature-file': {
        type: 'string',
        description: "File to write the signature to ('-' for stdout).",
        required: true,
      },
    },
    async run(ctx) {
      const hash = String(ctx.flags['digest-algorithm']);
      if (hash !== 'sha256' && hash !== 'sha384') throw new UsageError('--digest-algorithm must be sha256 or sha384.');
      const digest = createHash(hash)
        .update(readInput(ctx.flags['input-file'] as string))
        .digest('base64');
      const result = await ctx.api.request<{ signature: string }>(
        'POST',
        `/v1/${versionName(ctx, ctx.flags.version)}:asymmetricSign`,
        { body: { digest: { [hash]: digest } } },
      );
      writeOutput(ctx, ctx.flags['signature-file'] as string, Buffer.from(result.signature, 'base64'));
      return undefined;
    },
  },
];
