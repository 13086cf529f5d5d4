// Shared by `artifacts`, `build`, `sign`, `verify-image`, `attest`: registry clients for image
// references, and keys given as files or `kms://` key versions (signing through the KMS API).
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createCallbackSigner,
  type SignatureAlgorithm,
  type Signer,
  createKeySigner,
  toTrustedKey,
  type TrustedKey,
} from '@sealroom/builder';
import { type ImageReference, parseImageReference, RegistryClient } from '@sealroom/registry';
import type { CommandContext } from '../command.ts';
import { UsageError } from '../command.ts';

/**
 * The registry of an image reference. The Sealroom server itself (same host) gets the account's access
 * token; any other registry is reached without it (a Sealroom token never leaves for another host), over
 * HTTPS, or plain HTTP on loopback (a local `docker-registry`).
 */
export async function registryClientFor(ctx: CommandContext, ref: ImageReference): Promise<RegistryClient> {
  if (new URL(ctx.api.baseUrl).host !== ref.registry) {
    const host = ref.registry.replace(/:\d+$/, '');
    const loopback = host === '127.0.0.1' || host === 'localhost';
    return new RegistryClient({ baseUrl: `${loopback ? 'http' : 'https'}://${ref.registry}` });
  }
  return new RegistryClient({
    baseUrl: ctx.api.baseUrl,
    username: 'oauth2accesstoken',
    password: await ctx.api.accessToken(),
  });
}

export function parseImageArg(text: unknown, needDigest: boolean): ImageReference {
  let ref: ImageReference;
  try {
    ref = parseImageReference(String(text));
  } catch {
    throw new UsageError(
      `Invalid image reference [${String(text)}]: use HOST:PORT/PROJECT/REPOSITORY/IMAGE[:TAG|@sha256:…].`,
    );
  }
  if (needDigest && ref.digest === undefined)
    throw new UsageError(`[${String(text)}] must name a digest (IMAGE@sha256:…).`);
  return ref;
}

const KMS_ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = {
  EC_SIGN_P256_SHA256: 'ECDSA_P256_SHA256',
  RSA_SIGN_PKCS1_2048_SHA256: 'RSASSA_PKCS1V15_SHA256',
  RSA_SIGN_PKCS1_3072_SHA256: 'RSASSA_PKCS1V15_SHA256',
  RSA_SIGN_PKCS1_4096_SHA256: 'RSASSA_PKCS1V15_SHA256',
  RSA_SIGN_PSS_2048_SHA256: 'RSASSA_PSS_SHA256',
  RSA_SIGN_PSS_3072_SHA256: 'RSASSA_PSS_SHA256',
  RSA_SIGN_PSS_4096_SHA256: 'RSASSA_PSS_SHA256',
};

function kmsName(key: string): string | undefined {
  return key.startsWith('kms://') ? key.slice('kms://'.length).replace(/^\/+/, '') : undefined;
}

async function kmsPublicKey(
  ctx: CommandContext,
  name: string,
): Promise<{ pem: string; algorithm: SignatureAlgorithm }> {
  const result = await ctx.api.request<{ pem: string; algorithm: string }>('GET', `/v1/${name}/publicKey`);
  const algorithm = KMS_ALGORITHMS[result.algorithm];
  if (!algorithm)
    throw new UsageError(
      `KMS key algorithm ${result.algorithm} cannot sign images; use EC_SIGN_P256_SHA256 or an RSA SHA-256 algorithm.`,
    );
  return { pem: result.pem, algorithm };
}

/** `--key FILE` (PKCS#8 / SEC1 / PKCS#1 PEM private key) or `--key kms://projects/…/cryptoKeyVersions/N`. */
export async function loadSigner(ctx: CommandContext, key: string): Promise<Signer> {
  const name = kmsName(key);
  if (name === undefined) return createKeySigner(readFileSync(key));
  const { pem, algorithm } = await kmsPublicKey(ctx, name);
  return createCallbackSigner(pem, algorithm, async (data) => {
    const digest = createHash('sha256').update(data).digest('base64');
    const signed = await ctx.api.request<{ signature: string }>('POST', `/v1/${name}:asymmetricSign`, {
      body: { digest: { sha256: digest } },
    });
    return Buffer.from(signed.signature, 'base64');
  });
}

/** `--key FILE` (public or private PEM; only the public half is used) or `--key kms://…`. */
export async function loadTrustedKey(ctx: CommandContext, key: string): Promise<TrustedKey> {
  const name = kmsName(key);
  if (name !== undefined) return toTrustedKey((await kmsPublicKey(ctx, name)).pem);
  const text = readFileSync(key, 'utf8');
  const pem = text.includes('PRIVATE KEY')
    ? createPublicKey(text).export({ format: 'pem', type: 'spki' }).toString()
    : text;
  return toTrustedKey(pem);
}
