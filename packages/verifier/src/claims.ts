// The token's claim set (CONTRACTS.md "The token"; reference/launcher.md §8): built from an appraisal.
import type { OutputPolicy } from '@sealroom/core';
import type { Appraisal } from './appraisal.ts';
import type { VerifiedImageSignature } from './image-signatures.ts';

export const EAT_PROFILE =
  'https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims';
/** Google's IANA Private Enterprise Number, which Confidential Space tokens carry as oemid. */
export const OEM_ID = 11129;
export const SWNAME = 'CONFIDENTIAL_SPACE';

/** Sealroom's own submod: what the measured image config declares (added, never changing Google's claims). */
export interface SealroomClaims {
  readonly output_policy: OutputPolicy;
  readonly output_policy_digest: string;
}

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
}

export function instanceSelfLink(projectId: string, zone: string, instanceName: string): string {
  return `https://www.googleapis.com/compute/v1/projects/${projectId}/zones/${zone}/instances/${instanceName}`;
}

export function buildClaims(input: ClaimInputs): Record<string, unknown> {
  const { appraisal } = input;
  const { instance, image, cosState } = appraisal;
  const container = cosState?.container;
  return {
    iss: input.issuer,
    sub: instanceSelfLink(instance.projectId, instance.zone, instance.instanceName),
    aud: input.audience,
    iat: input.nowSeconds,
    nbf: input.nowSeconds,
    exp: input.nowSeconds + input.ttlSeconds,
    ...(input.nonces.length === 0
      ? {}
      : { eat_nonce: input.nonces.length === 1 ? input.nonces[0] : [...input.nonces] }),
    eat_profile: EAT_PROFILE,
    secboot: true,
    oemid: OEM_ID,
    hwmodel: appraisal.hwmodel,
    swname: SWNAME,
    swversion: [image.swversion],
    dbgstat: image.isHardened ? 'disabled-since-boot' : 'enabled',
    google_service_accounts: [...input.serviceAccounts],
    submods: {
      container: {
        image_reference: container?.imageReference ?? '',
        image_digest: container?.imageDigest ?? '',
        restart_policy: container?.restartPolicy ?? '',
        image_id: container?.imageId ?? '',
        args: [...(container?.args ?? [])],
        env: { ...(container?.envVars ?? {}) },
        env_override: { ...(container?.overriddenEnvVars ?? {}) },
        cmd_override: [...(container?.overriddenArgs ?? [])],
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
    },
  };
}
