// The token's claim set (docs/verifier.md, "The token"): built from an appraisal.
import { type Claims, type SealroomClaims, isRestartPolicy, parseClaims } from '@sealroom/core';
import type { Appraisal } from './appraisal.ts';
import { VerifierError } from './errors.ts';
import type { HardwareClaims } from './hardware-claims.ts';
import type { VerifiedImageSignature } from './image-signatures.ts';

export const EAT_PROFILE =
  'https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims';
/** Google's IANA Private Enterprise Number, which Confidential Space tokens carry as oemid. */
export const OEM_ID = 11129;
export const SWNAME: Claims['swname'] = 'CONFIDENTIAL_SPACE';

export interface ClaimInputs {
  readonly issuer: string;
  readonly audience: string;
  readonly nonces: readonly string[];
  readonly nowSeconds: number;
  readonly ttlSeconds: number;
  readonly appraisal: Appraisal;
  readonly serviceAccounts: readonly string[];
  readonly imageSignatures: readonly VerifiedImageSignature[];
  readonly sealroom?: SealroomClaims;
  /** Claims of an appraised SEV-SNP report or TDX quote: they name the hardware and add its submods entry. */
  readonly hardware?: HardwareClaims;
}

export function instanceSelfLink(projectId: string, zone: string, instanceName: string): string {
  return `https://www.googleapis.com/compute/v1/projects/${projectId}/zones/${zone}/instances/${instanceName}`;
}

/**
 * The token's claims for an appraisal, checked against the claims contract before anything is signed: a
 * token never carries what `parseClaims` would refuse (an unknown restart policy, a malformed digest).
 *
 * @example
 * ```ts
 * const claims = buildClaims({ issuer, audience, nonces: [], nowSeconds, ttlSeconds: 3600, appraisal,
 *   serviceAccounts: [], imageSignatures: [] });
 * const token = await keys.sign(claims);
 * ```
 */
export function buildClaims(input: ClaimInputs): Claims {
  const { appraisal } = input;
  const { instance, image, cosState } = appraisal;
  const container = cosState?.container;
  if (container === undefined) {
    throw new VerifierError('ERR_VERIFIER_MISSING_LAUNCH_EVENTS', 'The event log carries no container launch.');
  }
  const restartPolicy = container.restartPolicy;
  if (!isRestartPolicy(restartPolicy)) {
    throw new VerifierError(
      'ERR_VERIFIER_MALFORMED_EVIDENCE',
      'The measured restart policy is not Never, OnFailure or Always.',
    );
  }
  const claims: Claims = {
    iss: input.issuer,
    sub: instanceSelfLink(instance.projectId, instance.zone, instance.instanceName),
    aud: input.audience,
    iat: input.nowSeconds,
    nbf: input.nowSeconds,
    exp: input.nowSeconds + input.ttlSeconds,
    ...(input.nonces.length === 0
      ? {}
      : { eat_nonce: input.nonces.length === 1 ? (input.nonces[0] ?? '') : [...input.nonces] }),
    eat_profile: EAT_PROFILE,
    secboot: true,
    oemid: OEM_ID,
    hwmodel: input.hardware?.hwmodel ?? appraisal.hwmodel,
    ...(input.hardware === undefined ? {} : { attester_tcb: [...input.hardware.attester_tcb] }),
    swname: SWNAME,
    swversion: [image.swversion],
    dbgstat: image.isHardened && input.hardware?.dbgstat !== 'enabled' ? 'disabled-since-boot' : 'enabled',
    google_service_accounts: [...input.serviceAccounts],
    submods: {
      container: {
        image_reference: container.imageReference,
        image_digest: container.imageDigest,
        restart_policy: restartPolicy,
        image_id: container.imageId,
        args: [...container.args],
        env: { ...container.envVars },
        env_override: { ...container.overriddenEnvVars },
        cmd_override: [...container.overriddenArgs],
        image_signatures: [...input.imageSignatures],
      },
      gce: {
        zone: instance.zone,
        project_id: instance.projectId,
        project_number: instance.projectNumber,
        instance_name: instance.instanceName,
        instance_id: instance.instanceId,
      },
      confidential_space: {
        support_attributes: image.isHardened ? [...image.supportAttributes] : [],
        monitoring_enabled: { memory: cosState?.memoryMonitoring ?? false },
      },
      ...(cosState?.gpuCcMode === undefined ? {} : { nvidia_gpu: { cc_mode: cosState.gpuCcMode } }),
      ...(input.sealroom ? { sealroom: { ...input.sealroom } } : {}),
      ...(cosState?.trustedCaDigest === undefined
        ? {}
        : { sealroom_trust: { deployment_ca_digest: cosState.trustedCaDigest } }),
      ...(input.hardware?.submods ?? {}),
    },
  };
  try {
    return parseClaims(claims);
  } catch (cause) {
    throw new VerifierError(
      'ERR_VERIFIER_MALFORMED_EVIDENCE',
      `The appraised evidence does not make a valid token: ${cause instanceof Error ? cause.message : 'claims refused'}`,
      { cause },
    );
  }
}
