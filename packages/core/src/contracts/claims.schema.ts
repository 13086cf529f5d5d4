// The JSON schema of the attestation token's claims: Confidential Space's claim set plus Sealroom's additions.
import type { JsonSchema } from './json-schema.ts';

const SHA256_DIGEST = '^sha256:[0-9a-f]{64}$';
const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };
const strings: JsonSchema = { type: 'array', items: { type: 'string' } };

/**
 * `submods.sealroom`: what the measured image config declares (its `sealroom.output_policy` label). Sealroom's
 * addition; Google's claims are never changed. The policy's own rules (ranges, budget ≥ cost) are those of
 * `parseOutputPolicy`, which `parseClaims` applies after this schema.
 */
export const SEALROOM_SUBMOD: JsonSchema = {
  type: 'object',
  required: ['output_policy', 'output_policy_digest'],
  additionalProperties: false,
  properties: {
    output_policy: {
      type: 'object',
      required: ['min_collaborators', 'min_count'],
      additionalProperties: false,
      properties: {
        min_collaborators: { type: 'integer', minimum: 1 },
        min_count: { type: 'integer', minimum: 1 },
        dp: {
          type: 'object',
          required: ['mechanism', 'epsilon', 'delta', 'budget_epsilon', 'budget_delta'],
          additionalProperties: false,
          properties: {
            mechanism: { enum: ['laplace', 'gaussian'] },
            epsilon: { type: 'number' },
            delta: { type: 'number' },
            budget_epsilon: { type: 'number' },
            budget_delta: { type: 'number' },
          },
        },
      },
    },
    output_policy_digest: { type: 'string', pattern: SHA256_DIGEST },
  },
};

/** `submods.sealroom_trust`: the digest of the deployment CA the launcher put in the workload's trust store. */
export const SEALROOM_TRUST_SUBMOD: JsonSchema = {
  type: 'object',
  required: ['deployment_ca_digest'],
  additionalProperties: false,
  properties: { deployment_ca_digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } },
};

/**
 * The token's claims as a JSON schema. It is the shared contract schema (`contracts/token-claims.schema.json`
 * of the project's shared files) extended only by addition: `submods.sealroom` and `submods.sealroom_trust`. `submods` stays open so a
 * platform can add its own submod (SEV-SNP, TDX) without breaking a reader.
 */
export const CLAIMS_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'token-claims.schema.json',
  title: 'Sealroom attestation token claims (Confidential Space claim set)',
  description:
    'Payload of the RS256 OIDC token the verifier issues. Field names and types follow the Confidential Space token (seeds 001, 003, 004; reference/launcher.md section 8). Empty overrides are {} and [], never null.',
  type: 'object',
  required: [
    'iss',
    'sub',
    'aud',
    'iat',
    'nbf',
    'exp',
    'secboot',
    'oemid',
    'hwmodel',
    'swname',
    'swversion',
    'dbgstat',
    'google_service_accounts',
    'submods',
  ],
  properties: {
    iss: { type: 'string', format: 'uri' },
    sub: { type: 'string', minLength: 1 },
    aud: {
      oneOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', items: { type: 'string' }, minItems: 1 },
      ],
    },
    iat: { type: 'integer' },
    nbf: { type: 'integer' },
    exp: { type: 'integer' },
    eat_profile: { type: 'string' },
    eat_nonce: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 6 }],
    },
    secboot: { type: 'boolean' },
    oemid: { type: 'integer' },
    hwmodel: {
      enum: [
        'GCP_AMD_SEV',
        'GCP_AMD_SEV_ES',
        'GCP_INTEL_TDX',
        'GCP_SHIELDED_VM',
        'AMD_SEV_SNP',
        'INTEL_TDX',
        'SOFTWARE',
      ],
    },
    swname: { const: 'CONFIDENTIAL_SPACE' },
    swversion: { type: 'array', items: { type: 'string', pattern: '^[0-9]+$' }, minItems: 1 },
    dbgstat: { enum: ['disabled-since-boot', 'enabled'] },
    google_service_accounts: { type: 'array', items: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' } },
    submods: {
      type: 'object',
      required: ['container', 'gce', 'confidential_space'],
      properties: {
        container: {
          type: 'object',
          required: [
            'image_reference',
            'image_digest',
            'restart_policy',
            'image_id',
            'args',
            'env',
            'env_override',
            'cmd_override',
          ],
          properties: {
            image_reference: { type: 'string', minLength: 1 },
            image_digest: { type: 'string', pattern: SHA256_DIGEST },
            restart_policy: { enum: ['Never', 'OnFailure', 'Always'] },
            image_id: { type: 'string', pattern: SHA256_DIGEST },
            args: strings,
            env: stringMap,
            env_override: stringMap,
            cmd_override: strings,
            image_signatures: {
              type: 'array',
              items: {
                type: 'object',
                required: ['key_id', 'signature', 'signature_algorithm'],
                additionalProperties: false,
                properties: {
                  key_id: { type: 'string', pattern: '^[0-9a-f]{64}$' },
                  signature: { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$' },
                  signature_algorithm: { enum: ['ECDSA_P256_SHA256', 'RSASSA_PSS_SHA256', 'RSASSA_PKCS1V15_SHA256'] },
                },
              },
            },
          },
        },
        gce: {
          type: 'object',
          required: ['zone', 'project_id', 'project_number', 'instance_name', 'instance_id'],
          properties: {
            zone: { type: 'string' },
            project_id: { type: 'string' },
            project_number: { type: 'string', pattern: '^[0-9]+$' },
            instance_name: { type: 'string' },
            instance_id: { type: 'string', pattern: '^[0-9]+$' },
          },
        },
        confidential_space: {
          type: 'object',
          required: ['support_attributes'],
          properties: {
            support_attributes: {
              type: 'array',
              items: { enum: ['LATEST', 'STABLE', 'USABLE', 'EXPERIMENTAL'] },
              uniqueItems: true,
            },
            monitoring_enabled: { type: 'object', properties: { memory: { type: 'boolean' } } },
          },
        },
        nvidia_gpu: { type: 'object', properties: { cc_mode: { enum: ['ON', 'OFF', 'DEVTOOLS'] } } },
        sealroom: SEALROOM_SUBMOD,
        sealroom_trust: SEALROOM_TRUST_SUBMOD,
      },
    },
  },
  allOf: [
    {
      if: { properties: { dbgstat: { const: 'enabled' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, never awaited.
      then: {
        properties: {
          submods: { properties: { confidential_space: { properties: { support_attributes: { maxItems: 0 } } } } },
        },
      },
    },
  ],
};
