// The evidence wire type: what the launcher sends the verifier, one type, schema, validator and encoder for both.
import { fromBase64Lenient, toBase64 } from '../base64.ts';
import { cloneJson } from './clone.ts';
import { evidenceError } from './errors.ts';
import { HASH_ALGORITHMS, VERIFY_ATTESTATION_SCHEMA, VERIFY_CONFIDENTIAL_SPACE_SCHEMA } from './evidence.schema.ts';
import { applyDefaults, firstIssue, type JsonSchema } from './json-schema.ts';

/** One TPM quote in proto JSON: bytes as base64, `hashAlgo` a TPM_ALG_ID or its proto enum name. */
export interface TpmQuoteJson {
  readonly hashAlgo: number | string;
  /** PCR index (decimal text) → base64 value. */
  readonly pcrValues: Readonly<Record<string, string>>;
  readonly rawQuote: string;
  readonly rawSignature: string;
}

/** `tpmAttestation`: quotes of every bank, the event logs and the AK certificate with its chain. */
export interface TpmAttestationJson {
  readonly quotes: readonly TpmQuoteJson[];
  readonly tcgEventLog?: string;
  readonly canonicalEventLog?: string;
  readonly akCert?: string;
  readonly certChain: readonly string[];
}

/** `tdCcel`: the TD quote with the CCEL and the RTMR 3 canonical event log (base64). */
export interface TdCcelJson {
  readonly tdQuote: string;
  readonly ccelAcpiTable?: string;
  readonly ccelData?: string;
  readonly canonicalEventLog?: string;
}

/** `sevSnpAttestation`: the report, the host's certificate table and (Sealroom) the launch log (base64). */
export interface SevSnpAttestationJson {
  readonly report: string;
  readonly auxBlob?: string;
  readonly canonicalEventLog?: string;
}

/** Hardware evidence decoded to bytes. */
export interface TdCcelBytes {
  readonly tdQuote: Uint8Array;
  readonly ccelAcpiTable?: Uint8Array;
  readonly ccelData?: Uint8Array;
  readonly canonicalEventLog?: Uint8Array;
}

export interface SevSnpAttestationBytes {
  readonly report: Uint8Array;
  readonly auxBlob: Uint8Array;
  readonly canonicalEventLog?: Uint8Array;
}

/** One cosign signature: the simple-signing payload and the signature, both base64. */
export interface ContainerImageSignatureJson {
  readonly payload: string;
  readonly signature: string;
  readonly publicKey?: string;
  readonly sigAlg?: string | number;
}

export interface SignedEntityJson {
  readonly containerImageSignatures: readonly ContainerImageSignatureJson[];
}

export interface GcpCredentialsJson {
  /** ID tokens whose audience is the challenge's name: the instance's service account's, then impersonated ones. */
  readonly serviceAccountIdTokens: readonly string[];
}

export interface ConfidentialSpaceOptionsJson {
  readonly audience?: string;
  /** `TOKEN_PROFILE_DEFAULT_EAT` (or unspecified) is the only profile offered. */
  readonly tokenProfile?: string;
  readonly nonce: readonly string[];
  /** `SIGNATURE_TYPE_OIDC` or `SIGNATURE_TYPE_PKI`. */
  readonly signatureType?: string;
  readonly awsPrincipalTagsOptions?: unknown;
}

/**
 * The body of `:verifyConfidentialSpace`. `nvidiaAttestation` is accepted by shape only (its appraisal
 * defines it); `sevSnpAttestation` and `sealroomImageConfig` are Sealroom's additions.
 */
export interface VerifyConfidentialSpaceRequest {
  readonly challenge?: string;
  readonly tpmAttestation?: TpmAttestationJson;
  readonly tdCcel?: TdCcelJson;
  /** Sealroom's addition: a SEV-SNP report, alone or beside `tpmAttestation`. */
  readonly sevSnpAttestation?: SevSnpAttestationJson;
  readonly gcpCredentials?: GcpCredentialsJson;
  readonly signedEntities: readonly SignedEntityJson[];
  readonly gceShieldedIdentity?: { readonly akCert?: string; readonly akCertChain: readonly string[] };
  /** The image config blob (base64), whose digest is the measured image ID: its labels become claims. */
  readonly sealroomImageConfig?: string;
  readonly options?: ConfidentialSpaceOptionsJson;
  readonly nvidiaAttestation?: unknown;
}

/** The body of `:verifyAttestation`, the API's older shape. */
export interface VerifyAttestationRequest {
  readonly challenge?: string;
  readonly gcpCredentials?: GcpCredentialsJson;
  readonly tpmAttestation?: TpmAttestationJson;
  readonly confidentialSpaceInfo?: { readonly signedEntities: readonly SignedEntityJson[] };
  readonly tokenOptions?: {
    readonly audience?: string;
    readonly nonce: readonly string[];
    readonly tokenType?: string;
    readonly awsPrincipalTagsOptions?: unknown;
  };
  readonly tdCcel?: TdCcelJson;
  readonly sevSnpAttestation?: SevSnpAttestationJson;
  readonly nvidiaAttestation?: unknown;
  readonly attester?: string;
  readonly instance?: string;
}

/** TPM evidence decoded to bytes: the shape of `@sealroom/attest`'s `TpmEvidence`. */
export interface TpmEvidenceBytes {
  readonly quotes: readonly {
    readonly hashAlgo: number;
    readonly pcrValues: ReadonlyMap<number, Uint8Array>;
    readonly rawQuote: Uint8Array;
    readonly rawSignature: Uint8Array;
  }[];
  readonly akCert: Uint8Array;
  readonly certChain: readonly Uint8Array[];
  readonly tcgEventLog?: Uint8Array;
  readonly canonicalEventLog?: Uint8Array;
}

function assertConfidentialSpace(value: unknown): asserts value is VerifyConfidentialSpaceRequest {
  const issue = firstIssue(VERIFY_CONFIDENTIAL_SPACE_SCHEMA, value);
  if (issue !== undefined) throw evidenceError(issue, 'request body');
}

function assertAttestation(value: unknown): asserts value is VerifyAttestationRequest {
  const issue = firstIssue(VERIFY_ATTESTATION_SCHEMA, value);
  if (issue !== undefined) throw evidenceError(issue, 'request body');
}

/** A copy of `body` with the schema's defaults filled in, so absent lists read as empty ones. */
function withDefaults(schema: JsonSchema, body: unknown): unknown {
  const copy = cloneJson(body ?? {});
  applyDefaults(schema, copy);
  return copy;
}

/**
 * Checks a `:verifyConfidentialSpace` body (the verifier's side) and returns it typed, absent lists as `[]`.
 *
 * @example
 * ```ts
 * const request = parseVerifyConfidentialSpaceRequest(JSON.parse(bodyText));
 * const evidence = fromTpmAttestationJson(request.tpmAttestation, request.gceShieldedIdentity);
 * ```
 * @throws ContractError `ERR_EVIDENCE_MALFORMED`, `ERR_EVIDENCE_UNKNOWN_FIELD` ("Unknown name …"),
 *   `ERR_EVIDENCE_MISSING_FIELD` or `ERR_EVIDENCE_INVALID_FIELD` ("Invalid value at '…'"), all 400.
 */
export function parseVerifyConfidentialSpaceRequest(body: unknown): VerifyConfidentialSpaceRequest {
  const request = withDefaults(VERIFY_CONFIDENTIAL_SPACE_SCHEMA, body);
  assertConfidentialSpace(request);
  return request;
}

/** Checks a `:verifyAttestation` body and returns it typed, absent lists as `[]`. */
export function parseVerifyAttestationRequest(body: unknown): VerifyAttestationRequest {
  const request = withDefaults(VERIFY_ATTESTATION_SCHEMA, body);
  assertAttestation(request);
  return request;
}

/**
 * The JSON text of a `:verifyConfidentialSpace` body (the launcher's side), refused before it is sent
 * when it breaks the schema the verifier applies.
 *
 * @example
 * ```ts
 * const body = encodeVerifyConfidentialSpaceRequest({
 *   challenge: name,
 *   tpmAttestation: toTpmAttestationJson(evidence.tpm),
 *   signedEntities: [],
 *   options: { nonce: [], tokenProfile: 'TOKEN_PROFILE_DEFAULT_EAT', signatureType: 'SIGNATURE_TYPE_OIDC' },
 * });
 * ```
 */
export function encodeVerifyConfidentialSpaceRequest(request: VerifyConfidentialSpaceRequest): string {
  assertConfidentialSpace(request);
  return JSON.stringify(request);
}

/** The proto-JSON `tpmAttestation` of TPM evidence (bytes as base64). */
export function toTpmAttestationJson(evidence: TpmEvidenceBytes): TpmAttestationJson {
  return {
    quotes: evidence.quotes.map((q) => ({
      hashAlgo: q.hashAlgo,
      pcrValues: Object.fromEntries([...q.pcrValues].map(([index, value]) => [String(index), toBase64(value)])),
      rawQuote: toBase64(q.rawQuote),
      rawSignature: toBase64(q.rawSignature),
    })),
    tcgEventLog: toBase64(evidence.tcgEventLog ?? new Uint8Array(0)),
    canonicalEventLog: toBase64(evidence.canonicalEventLog ?? new Uint8Array(0)),
    akCert: toBase64(evidence.akCert),
    certChain: evidence.certChain.map(toBase64),
  };
}

function bytes(value: string | undefined, field: string): Buffer {
  return value === undefined ? Buffer.alloc(0) : fromBase64Lenient(value, field);
}

/**
 * TPM evidence decoded from a parsed `tpmAttestation`; `shieldedIdentity` (`gceShieldedIdentity`) supplies
 * the AK certificate when the attestation carries none, and extends the chain.
 */
export function fromTpmAttestationJson(
  tpm: TpmAttestationJson,
  shieldedIdentity?: { readonly akCert?: string; readonly akCertChain: readonly string[] },
): TpmEvidenceBytes {
  return {
    quotes: tpm.quotes.map((q, i) => ({
      hashAlgo: typeof q.hashAlgo === 'number' ? q.hashAlgo : (HASH_ALGORITHMS[q.hashAlgo] ?? 0),
      pcrValues: new Map(
        Object.entries(q.pcrValues).map(([k, v]) => [Number(k), bytes(v, `tpmAttestation.quotes[${i}].pcrValues`)]),
      ),
      rawQuote: bytes(q.rawQuote, `tpmAttestation.quotes[${i}].rawQuote`),
      rawSignature: bytes(q.rawSignature, `tpmAttestation.quotes[${i}].rawSignature`),
    })),
    akCert: bytes(tpm.akCert ?? shieldedIdentity?.akCert, 'tpmAttestation.akCert'),
    certChain: [...tpm.certChain, ...(shieldedIdentity?.akCertChain ?? [])].map((c) =>
      bytes(c, 'tpmAttestation.certChain'),
    ),
    tcgEventLog: bytes(tpm.tcgEventLog, 'tpmAttestation.tcgEventLog'),
    canonicalEventLog: bytes(tpm.canonicalEventLog, 'tpmAttestation.canonicalEventLog'),
  };
}

/** The signatures of parsed `signedEntities`, decoded to bytes. */
export function fromSignedEntitiesJson(
  entities: readonly SignedEntityJson[],
): { readonly payload: Buffer; readonly signature: Buffer }[] {
  return entities.flatMap((e) =>
    e.containerImageSignatures.map((s) => ({
      payload: bytes(s.payload, 'containerImageSignatures.payload'),
      signature: bytes(s.signature, 'containerImageSignatures.signature'),
    })),
  );
}

/** The bytes of a parsed `tdCcel`. */
export function fromTdCcelJson(json: TdCcelJson): TdCcelBytes {
  return {
    tdQuote: bytes(json.tdQuote, 'tdCcel.tdQuote'),
    ...(json.ccelAcpiTable === undefined ? {} : { ccelAcpiTable: bytes(json.ccelAcpiTable, 'tdCcel.ccelAcpiTable') }),
    ...(json.ccelData === undefined ? {} : { ccelData: bytes(json.ccelData, 'tdCcel.ccelData') }),
    ...(json.canonicalEventLog === undefined
      ? {}
      : { canonicalEventLog: bytes(json.canonicalEventLog, 'tdCcel.canonicalEventLog') }),
  };
}

/** The bytes of a parsed `sevSnpAttestation`; an absent certificate table is an empty one. */
export function fromSevSnpAttestationJson(json: SevSnpAttestationJson): SevSnpAttestationBytes {
  return {
    report: bytes(json.report, 'sevSnpAttestation.report'),
    auxBlob: bytes(json.auxBlob, 'sevSnpAttestation.auxBlob'),
    ...(json.canonicalEventLog === undefined
      ? {}
      : { canonicalEventLog: bytes(json.canonicalEventLog, 'sevSnpAttestation.canonicalEventLog') }),
  };
}

/** The proto-JSON `tdCcel` of TDX evidence. */
export function toTdCcelJson(evidence: TdCcelBytes): TdCcelJson {
  return {
    tdQuote: toBase64(evidence.tdQuote),
    ...(evidence.ccelAcpiTable === undefined ? {} : { ccelAcpiTable: toBase64(evidence.ccelAcpiTable) }),
    ...(evidence.ccelData === undefined ? {} : { ccelData: toBase64(evidence.ccelData) }),
    ...(evidence.canonicalEventLog === undefined ? {} : { canonicalEventLog: toBase64(evidence.canonicalEventLog) }),
  };
}

/** The proto-JSON `sevSnpAttestation` of SEV-SNP evidence. */
export function toSevSnpAttestationJson(evidence: SevSnpAttestationBytes): SevSnpAttestationJson {
  return {
    report: toBase64(evidence.report),
    auxBlob: toBase64(evidence.auxBlob),
    ...(evidence.canonicalEventLog === undefined ? {} : { canonicalEventLog: toBase64(evidence.canonicalEventLog) }),
  };
}
