// The verifier's configuration fragment: trusted platform roots, image database, lifetimes; unknown keys refused.
import { X509Certificate } from 'node:crypto';
import { CoreError } from '@sealroom/core';
import { type ConfigValues, defineConfigFragment, parseConfigFragment, readConfigEnv } from '@sealroom/transport';
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

const imageSchema = z.strictObject({
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
  /** SEV-SNP MEASUREMENT or TDX MRTD values (hex) of the image, for hardware evidence. */
  launchMeasurements: z.array(z.string().regex(/^[0-9a-f]{96}$/)).optional(),
});

const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
] as const;

export const verifierConfigFragment = defineConfigFragment({
  name: 'verifier',
  title: 'Verifier',
  section: 'verifier',
  envPrefix: 'SEALROOM_VERIFIER_',
  fileEnv: 'SEALROOM_VERIFIER_CONFIG',
  intro:
    'The keys of that file override the configuration file’s. The image database and dev mode are described in [verifier.md](verifier.md#configuration).',
  keys: {
    issuer: {
      schema: z.url().optional(),
      defaultText: 'the server’s `baseUrl`',
      description: '`iss` of the tokens; discovery is served under its path.',
    },
    trustedRoots: {
      schema: z.array(z.strictObject({ certificatePem: z.string(), hwmodel: z.enum(HWMODELS) })).default([]),
      description: `\`[{certificatePem, hwmodel}]\`: platform roots whose AK certificates are trusted, and the \`hwmodel\` their evidence gets (${HWMODELS.map((h) => `\`${h}\``).join(', ')}).`,
    },
    intermediates: {
      schema: z.array(z.string()).default([]),
      description: 'PEM intermediates the verifier adds when evidence lacks them (GCE: `tpm_ek_intermediate_2`).',
    },
    images: {
      schema: z.array(imageSchema).default([]),
      description:
        'The image database: each image’s golden boot, keyed by its kernel command line ([verifier.md](verifier.md#configuration)). A debug image with support attributes is refused at start (`ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES`).',
    },
    collateralDir: {
      schema: z.string().min(1).optional(),
      defaultText: '`collateral` in the state directory',
      description:
        'The offline collateral store (AMD certificates and CRLs, Intel TCB info, QE identity and CRLs) that hardware evidence is appraised against; filled by `sealroom verifier collateral import` or `fetch`. Appraisal never calls out.',
    },
    amdArkSha256: {
      schema: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
      description:
        'SHA-256 fingerprints (hex) of AMD root keys (ARK) trusted beside the built-in Milan pin, e.g. the Genoa and Turin ARKs; the certificate itself comes from the collateral store or the evidence and must match.',
    },
    tdxAcceptedTcbStatuses: {
      schema: z.array(z.enum(TCB_STATUSES)).min(1).default(['UpToDate']),
      description:
        'Intel TCB statuses accepted for a TDX platform, its TDX module and its quoting enclave (`Revoked` never is).',
    },
    allowStaleCollateral: {
      schema: z.boolean().default(false),
      description:
        'Accept Intel TCB info or QE identity past its nextUpdate; the token then says the collateral is stale.',
    },
    allowDebugHardware: {
      schema: z.boolean().default(false),
      description: 'Accept SEV-SNP guests and TDs whose policy allows debugging (their tokens say `dbgstat: enabled`).',
    },
    challengeTtlSeconds: {
      schema: z.number().int().min(10).max(86_400).default(900),
      description: 'Challenge lifetime.',
    },
    tokenTtlSeconds: {
      schema: z.number().int().min(60).max(86_400).default(3600),
      description: 'Token lifetime.',
    },
    keyRotationSeconds: {
      schema: z
        .number()
        .int()
        .min(60)
        .default(7 * 86_400),
      description: 'How long a signing key signs before the next one takes over.',
    },
    devSwversion: {
      schema: z
        .string()
        .regex(/^[0-9]+$/)
        .default('261100'),
      description: '`swversion` given to soft-platform images not in `images`, in dev mode only.',
    },
  },
});

/** The verifier's configuration: one strict zod object, unknown keys refused. */
export const verifierConfigSchema = verifierConfigFragment.schema;

export type VerifierConfig = ConfigValues<typeof verifierConfigFragment.keys>;

export function parseVerifierConfig(value: unknown): VerifierConfig {
  return parseConfigFragment(verifierConfigFragment, value);
}

/** Reads the file named by SEALROOM_VERIFIER_CONFIG (JSON), or the defaults (the service run by itself). */
export function loadVerifierConfig(env: NodeJS.ProcessEnv = process.env): VerifierConfig {
  const { values, sources } = readConfigEnv(verifierConfigFragment, env);
  return parseConfigFragment(verifierConfigFragment, values, sources);
}

/** A configured image as the image database holds it (banks left out are absent, not undefined). */
export function toImageEntry(image: VerifierConfig['images'][number]): ImageEntry {
  const bootApplications = Object.fromEntries(
    Object.entries(image.bootApplications).filter(([, digests]) => digests !== undefined),
  ) as ImageEntry['bootApplications'];
  const { launchMeasurements, ...rest } = image;
  return { ...rest, bootApplications, ...(launchMeasurements === undefined ? {} : { launchMeasurements }) };
}

/** PEM (one certificate) → DER, refusing anything that is not a certificate. */
export function pemToDer(pem: string): Buffer {
  try {
    return Buffer.from(new X509Certificate(pem).raw);
  } catch (cause) {
    throw new CoreError('ERR_CONFIG', 'A configured certificate is not a PEM X.509 certificate.', { cause });
  }
}
