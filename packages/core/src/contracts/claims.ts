// The attestation token's claims: one type, one schema, one validator and one encoder for every reader and writer.
import { fromBase64Url } from '../base64.ts';
import { type OutputPolicy, parseOutputPolicy } from '../output-policy.ts';
import { CLAIMS_SCHEMA, SEALROOM_SUBMOD } from './claims.schema.ts';
import { cloneJson } from './clone.ts';
import { ContractError, claimsError } from './errors.ts';
import { firstIssue } from './json-schema.ts';

/** `hwmodel`: `SOFTWARE` is the soft platform; the others name real hardware. */
export type HwModel =
  | 'GCP_AMD_SEV'
  | 'GCP_AMD_SEV_ES'
  | 'GCP_INTEL_TDX'
  | 'GCP_SHIELDED_VM'
  | 'AMD_SEV_SNP'
  | 'INTEL_TDX'
  | 'SOFTWARE';

/** `dbgstat`: `enabled` on debug images (seeds 003 and 004 write `enable`, which real tokens never carry). */
export type DebugStatus = 'disabled-since-boot' | 'enabled';

export const RESTART_POLICIES = ['Never', 'OnFailure', 'Always'] as const;
/** `tee-restart-policy`, case-sensitive. */
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export type SupportAttribute = 'LATEST' | 'STABLE' | 'USABLE' | 'EXPERIMENTAL';

export type ImageSignatureAlgorithm = 'ECDSA_P256_SHA256' | 'RSASSA_PSS_SHA256' | 'RSASSA_PKCS1V15_SHA256';

/** One verified image signature: `key_id` is the hex SHA-256 of the public key's DER SPKI. */
export interface ImageSignatureClaim {
  readonly key_id: string;
  readonly signature: string;
  readonly signature_algorithm: ImageSignatureAlgorithm;
}

/** `submods.container`: what the launcher measured. Empty overrides are `{}` / `[]`, never null. */
export interface ContainerClaims {
  readonly image_reference: string;
  readonly image_digest: string;
  readonly restart_policy: RestartPolicy;
  readonly image_id: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly env_override: Readonly<Record<string, string>>;
  readonly cmd_override: readonly string[];
  readonly image_signatures?: readonly ImageSignatureClaim[];
}

/** `submods.gce`: the instance identity, every value a string (numbers included). */
export interface GceClaims {
  readonly zone: string;
  readonly project_id: string;
  readonly project_number: string;
  readonly instance_name: string;
  readonly instance_id: string;
}

export interface ConfidentialSpaceClaims {
  /** Empty on debug images. */
  readonly support_attributes: readonly SupportAttribute[];
  readonly monitoring_enabled?: { readonly memory?: boolean };
}

export interface NvidiaGpuClaims {
  readonly cc_mode?: 'ON' | 'OFF' | 'DEVTOOLS';
}

/** `submods.sealroom`: Sealroom's addition, the output policy the measured image config declares. */
export interface SealroomClaims {
  readonly output_policy: OutputPolicy;
  /** `sha256:` of the policy's canonical text (`outputPolicyDigest`), for a condition that pins one policy. */
  readonly output_policy_digest: string;
}

/**
 * `submods.sealroom_trust`: Sealroom's addition, what the launcher made the workload trust besides the public
 * roots (measured as its own launch event), so collaborators see which deployment the instance trusts.
 */
export interface SealroomTrustClaims {
  /** `sha256:<hex>` of the deployment CA (PEM) in the workload's trust store. */
  readonly deployment_ca_digest: string;
}

/**
 * The submodules. A platform's own submod (SEV-SNP, TDX) is added here as an optional member, with its
 * schema under `submods.properties` of `CLAIMS_SCHEMA`; readers that do not know it keep working.
 */
export interface Submods {
  readonly container: ContainerClaims;
  readonly gce: GceClaims;
  readonly confidential_space: ConfidentialSpaceClaims;
  readonly nvidia_gpu?: NvidiaGpuClaims;
  readonly sealroom?: SealroomClaims;
  readonly sealroom_trust?: SealroomTrustClaims;
}

/** The payload of an attestation token (Confidential Space's claim set, plus `submods.sealroom`). */
export interface Claims {
  readonly iss: string;
  /** The instance's self link. */
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly eat_profile?: string;
  /** One nonce as a string, several as an array (at most 6). */
  readonly eat_nonce?: string | readonly string[];
  readonly secboot: boolean;
  readonly oemid: number;
  readonly hwmodel: HwModel;
  readonly swname: 'CONFIDENTIAL_SPACE';
  readonly swversion: readonly string[];
  readonly dbgstat: DebugStatus;
  readonly google_service_accounts: readonly string[];
  readonly submods: Submods;
}

export function isRestartPolicy(value: string): value is RestartPolicy {
  return RESTART_POLICIES.some((policy) => policy === value);
}

function assertClaims(value: unknown): asserts value is Claims {
  const issue = firstIssue(CLAIMS_SCHEMA, value);
  if (issue !== undefined) throw claimsError(issue);
}

function checkOutputPolicy(claims: Claims): void {
  const sealroom = claims.submods.sealroom;
  if (sealroom === undefined) return;
  try {
    parseOutputPolicy(sealroom.output_policy);
  } catch (cause) {
    const path = 'submods.sealroom.output_policy';
    throw new ContractError(
      'ERR_CLAIMS_INVALID',
      `Invalid token claim '${path}': ${cause instanceof Error ? cause.message : 'it does not parse.'}`,
      path,
      {
        cause,
      },
    );
  }
}

/**
 * Checks a decoded token payload against the claims contract and returns it typed. Claims the contract
 * does not name are kept (a policy may read them); the value is copied, never shared with the caller.
 *
 * @example
 * ```ts
 * const claims = parseClaims(JSON.parse(payloadText));
 * claims.submods.container.image_digest; // 'sha256:…'
 * ```
 * @throws ContractError `ERR_CLAIMS_MALFORMED` (not an object), `ERR_CLAIMS_MISSING`, `ERR_CLAIMS_INVALID`;
 *   `error.path` names the claim.
 */
export function parseClaims(value: unknown): Claims {
  assertClaims(value);
  checkOutputPolicy(value);
  return cloneJson(value);
}

/**
 * The JWT payload text of `claims`, refused (never written) when they break the contract: a signer signs
 * exactly these bytes.
 *
 * @example
 * ```ts
 * const payload = toBase64Url(Buffer.from(encodeClaims(claims)));
 * ```
 */
export function encodeClaims(claims: Claims): string {
  return JSON.stringify(parseClaims(claims));
}

/**
 * The payload of a compact JWT as JSON, WITHOUT verifying its signature or checking it against the
 * contract: for explaining a token, refused ones included. Everything else reads `decodeClaims`.
 */
export function decodeClaimsPayload(token: string): unknown {
  const parts = token.trim().split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined) {
    throw new ContractError('ERR_CLAIMS_MALFORMED', 'Not a compact JWT (three dot-separated parts expected).');
  }
  try {
    return JSON.parse(fromBase64Url(payload).toString('utf8'));
  } catch (cause) {
    throw new ContractError('ERR_CLAIMS_MALFORMED', 'The JWT payload is not JSON.', '', { cause });
  }
}

/**
 * The claims of a compact JWT, WITHOUT verifying its signature: for reading one's own token. A relying
 * party verifies the token against the issuer's JWKS first, then parses its payload with `parseClaims`.
 *
 * @example
 * ```ts
 * const { submods } = decodeClaims(token);
 * if (submods.sealroom) describeOutputPolicy(submods.sealroom.output_policy);
 * ```
 */
export function decodeClaims(token: string): Claims {
  return parseClaims(decodeClaimsPayload(token));
}

function member(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, name)
    ? Object.getOwnPropertyDescriptor(value, name)?.value
    : undefined;
}

/**
 * One claim of a payload that may break the contract (`decodeClaimsPayload`), by dotted path; undefined
 * when absent. For a launcher scheduling by `exp` or an explanation; a checked token reads `Claims` instead.
 *
 * @example
 * ```ts
 * const exp = claimOf(decodeClaimsPayload(token), 'exp'); // unknown: check its type before use
 * ```
 */
export function claimOf(payload: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, name) => member(node, name), payload);
}

/**
 * What a payload that may break the contract says in `submods.sealroom`: its output policy (checked by
 * `parseOutputPolicy`, which throws on a bad one) and its digest when well formed; undefined without a policy.
 */
export function sealroomClaimsOf(
  payload: unknown,
): { readonly policy: OutputPolicy; readonly digest?: string } | undefined {
  const sealroom = claimOf(payload, 'submods.sealroom');
  const policy = member(sealroom, 'output_policy');
  if (policy === undefined) return undefined;
  const digest = member(sealroom, 'output_policy_digest');
  const digestSchema = SEALROOM_SUBMOD.properties?.output_policy_digest ?? {};
  return {
    policy: parseOutputPolicy(policy),
    ...(typeof digest === 'string' && firstIssue(digestSchema, digest) === undefined ? { digest } : {}),
  };
}
