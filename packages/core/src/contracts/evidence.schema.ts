// JSON schemas of the evidence the launcher sends the verifier (Confidential Computing v1 verify request bodies).
import type { JsonSchema } from './json-schema.ts';

/** Base64 of one blob (quote, event log, certificate, image config): proto-JSON bytes, capped at 8 MiB of text. */
const BYTES: JsonSchema = { type: 'string', maxLength: 8 * 1024 * 1024 };

/** Platform evidence the verifier does not appraise yet: accepted by shape, refused by the verifier. */
const PLATFORM_EVIDENCE: JsonSchema = {
  description: 'GPU evidence: its shape is defined with its appraisal.',
};

/** `tdCcel` (Confidential Computing v1 `TdxCcelAttestation`): the TD quote, the CCEL and the RTMR 3 log. */
const TD_CCEL: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tdQuote'],
  properties: { ccelAcpiTable: BYTES, ccelData: BYTES, canonicalEventLog: BYTES, tdQuote: BYTES },
};

/**
 * `sevSnpAttestation` (v1 `SevSnpAttestation`: report and the host's certificate table); `canonicalEventLog`
 * is Sealroom's addition, the launch log whose replay report_data binds on SEV-SNP without a vTPM.
 */
const SEV_SNP_ATTESTATION: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['report'],
  properties: { report: BYTES, auxBlob: BYTES, canonicalEventLog: BYTES },
};

/** The hash algorithms of `tpmAttestation.quotes[].hashAlgo`, by proto enum name (numbers are TPM_ALG_IDs). */
export const HASH_ALGORITHMS: Readonly<Record<string, number>> = { SHA1: 4, SHA256: 11, SHA384: 12, SHA512: 13 };

const TPM_ATTESTATION: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    quotes: {
      type: 'array',
      maxItems: 8,
      default: [],
      items: {
        type: 'object',
        required: ['hashAlgo'],
        additionalProperties: false,
        properties: {
          hashAlgo: { oneOf: [{ type: 'integer' }, { type: 'string', enum: Object.keys(HASH_ALGORITHMS) }] },
          pcrValues: {
            type: 'object',
            propertyNames: { pattern: '^[0-9]{1,2}$' },
            additionalProperties: BYTES,
            default: {},
          },
          rawQuote: { ...BYTES, default: '' },
          rawSignature: { ...BYTES, default: '' },
        },
      },
    },
    tcgEventLog: BYTES,
    canonicalEventLog: BYTES,
    akCert: BYTES,
    certChain: { type: 'array', maxItems: 8, items: BYTES, default: [] },
  },
};

const SIGNED_ENTITY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    containerImageSignatures: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        required: ['payload', 'signature'],
        additionalProperties: false,
        properties: {
          payload: BYTES,
          signature: BYTES,
          publicKey: { type: 'string' },
          sigAlg: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
        },
      },
    },
  },
};

const GCP_CREDENTIALS: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    serviceAccountIdTokens: { type: 'array', items: { type: 'string', maxLength: 16 * 1024 }, default: [] },
  },
};

const NONCES: JsonSchema = { type: 'array', items: { type: 'string' }, default: [] };

/** The body of `POST /v1/{challenge}:verifyConfidentialSpace`, what the launcher sends. */
export const VERIFY_CONFIDENTIAL_SPACE_SCHEMA: JsonSchema = {
  title: 'VerifyConfidentialSpaceRequest',
  type: 'object',
  additionalProperties: false,
  properties: {
    challenge: { type: 'string' },
    tpmAttestation: TPM_ATTESTATION,
    tdCcel: TD_CCEL,
    sevSnpAttestation: {
      ...SEV_SNP_ATTESTATION,
      description: "Sealroom's addition: a SEV-SNP report, with or without tpmAttestation.",
    },
    gcpCredentials: GCP_CREDENTIALS,
    signedEntities: { type: 'array', items: SIGNED_ENTITY, default: [] },
    gceShieldedIdentity: {
      type: 'object',
      additionalProperties: false,
      properties: { akCert: BYTES, akCertChain: { type: 'array', items: BYTES, default: [] } },
    },
    sealroomImageConfig: {
      ...BYTES,
      description:
        "Sealroom's addition: the image config blob, whose digest is the measured image ID (labels → claims).",
    },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        audience: { type: 'string' },
        tokenProfile: { type: 'string' },
        nonce: NONCES,
        signatureType: { type: 'string' },
        awsPrincipalTagsOptions: {},
      },
    },
    nvidiaAttestation: PLATFORM_EVIDENCE,
  },
};

/** The body of `POST /v1/{challenge}:verifyAttestation`, the API's older shape. */
export const VERIFY_ATTESTATION_SCHEMA: JsonSchema = {
  title: 'VerifyAttestationRequest',
  type: 'object',
  additionalProperties: false,
  properties: {
    challenge: { type: 'string' },
    gcpCredentials: GCP_CREDENTIALS,
    tpmAttestation: TPM_ATTESTATION,
    confidentialSpaceInfo: {
      type: 'object',
      additionalProperties: false,
      properties: { signedEntities: { type: 'array', items: SIGNED_ENTITY, default: [] } },
    },
    tokenOptions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        audience: { type: 'string' },
        nonce: NONCES,
        tokenType: { type: 'string' },
        awsPrincipalTagsOptions: {},
      },
    },
    tdCcel: TD_CCEL,
    sevSnpAttestation: SEV_SNP_ATTESTATION,
    nvidiaAttestation: PLATFORM_EVIDENCE,
    attester: { type: 'string' },
    instance: { type: 'string' },
  },
};
