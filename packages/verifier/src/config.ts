// The verifier's configuration: trusted platform roots, image database, lifetimes. One zod schema, unknown keys refused.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { CoreError } from '@sealroom/core';
import { z } from 'zod';
import { SUPPORT_ATTRIBUTES } from './image-db.ts';
import type { ImageEntry } from './image-db.ts';

const HWMODELS = [
  'SOFTWARE',
  'GCP_SHIELDED_VM',
  'GCP_AMD_SEV',
  'GCP_AMD_SEV_ES',
  'GCP_INTEL_TDX',
  'AMD_SEV_SNP',
  'INTEL_TDX',
] as const;

const hexDigests = (size: number) =>
  z
    .array(z.string().regex(new RegExp(`^[0-9a-f]{${size * 2}}$`)))
    .min(1)
    .optional();

export const verifierConfigSchema = z.strictObject({
  /** The `iss` of the tokens; the server's base URL when absent. */
  issuer: z.url().optional(),
  /** Platform roots whose AK certificates are trusted, as PEM, each with the hwmodel it vouches for. */
  trustedRoots: z.array(z.strictObject({ certificatePem: z.string(), hwmodel: z.enum(HWMODELS) })).default([]),
  /** Intermediate certificates (PEM) the verifier supplies when evidence lacks them. */
  intermediates: z.array(z.string()).default([]),
  /** Golden boot measurements: kernel command line → image, with its Secure Boot db and boot applications. */
  images: z
    .array(
      z.strictObject({
        cmdline: z.string().min(1),
        imageReleaseName: z.string().min(1),
        isHardened: z.boolean(),
        swversion: z.string().regex(/^[0-9]+$/),
        supportAttributes: z.array(z.enum(SUPPORT_ATTRIBUTES)).default([]),
        /** SHA-256 (hex) of each certificate Secure Boot's db must hold, and nothing else. */
        secureBootDb: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1),
        /** EFI boot application digests (hex) in boot order, per bank; at least one bank. */
        bootApplications: z
          .strictObject({
            sha1: hexDigests(20),
            sha256: hexDigests(32),
            sha384: hexDigests(48),
            sha512: hexDigests(64),
          })
          .refine((banks) => Object.values(banks).some((d) => d !== undefined && d.length > 0), {
            message: 'list the boot applications in at least one bank',
          }),
      }),
    )
    .default([]),
  challengeTtlSeconds: z.number().int().min(10).max(86_400).default(900),
  tokenTtlSeconds: z.number().int().min(60).max(86_400).default(3600),
  keyRotationSeconds: z
    .number()
    .int()
    .min(60)
    .default(7 * 86_400),
  /** swversion given to soft-platform images not in `images`, in dev mode only. */
  devSwversion: z
    .string()
    .regex(/^[0-9]+$/)
    .default('261100'),
});

export type VerifierConfig = z.infer<typeof verifierConfigSchema>;

export function parseVerifierConfig(value: unknown): VerifierConfig {
  const result = verifierConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new CoreError(
      'ERR_CONFIG',
      `Invalid verifier configuration at '${issue?.path.join('.') ?? ''}': ${issue?.message}.`,
    );
  }
  return result.data;
}

/** Reads the file named by SEALROOM_VERIFIER_CONFIG (JSON), or the defaults. */
export function loadVerifierConfig(env: NodeJS.ProcessEnv = process.env): VerifierConfig {
  const path = env.SEALROOM_VERIFIER_CONFIG;
  if (path === undefined || path === '') return parseVerifierConfig({});
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CoreError('ERR_CONFIG', 'SEALROOM_VERIFIER_CONFIG does not name a readable JSON file.', { cause });
  }
  return parseVerifierConfig(json);
}

/** A configured image as the image database holds it (banks left out are absent, not undefined). */
export function toImageEntry(image: VerifierConfig['images'][number]): ImageEntry {
  const bootApplications = Object.fromEntries(
    Object.entries(image.bootApplications).filter(([, digests]) => digests !== undefined),
  ) as ImageEntry['bootApplications'];
  return { ...image, bootApplications };
}

/** PEM (one certificate) → DER, refusing anything that is not a certificate. */
export function pemToDer(pem: string): Buffer {
  try {
    return Buffer.from(new X509Certificate(pem).raw);
  } catch (cause) {
    throw new CoreError('ERR_CONFIG', 'A configured certificate is not a PEM X.509 certificate.', { cause });
  }
}
