// A TokenSource over the verifier's Confidential Computing REST API: challenge, evidence, :verifyConfidentialSpace
// (docs/launcher.md, "Tokens from the verifier").
import type { Platform, PlatformEvidence } from '@sealroom/attest';
import {
  ContractError,
  type VerifyConfidentialSpaceRequest,
  encodeVerifyConfidentialSpaceRequest,
  fromBase64,
  toBase64,
  toSevSnpAttestationJson,
  toTdCcelJson,
  toTpmAttestationJson,
} from '@sealroom/core';
import { createOutboundClient, type OutboundFetch } from '@sealroom/outbound';
import { LauncherError } from './errors.ts';
import type { CustomTokenRequest, TokenSource } from './token-source.ts';

/** One cosign signature of the image: the payload blob and the raw signature bytes. */
export interface ImageSignature {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

export interface VerifierClientOptions {
  /** The verifier's base URL (the server's own by default), no trailing slash. */
  readonly baseUrl: string;
  readonly projectId: string;
  /** The instance's region: its zone minus the last `-x`. */
  readonly region: string;
  /** The instance service account's access token, for the verifier's IAM check. */
  readonly accessToken: () => Promise<string>;
  /** ID tokens with `aud` = the challenge name: the instance SA's, then each `tee-impersonate-service-accounts`. */
  readonly idTokens: (audience: string) => Promise<readonly string[]>;
  readonly platform: Pick<Platform, 'attest'>;
  /** Signatures discovered from `tee-signed-image-repos`; called before every token, as Google's refresh does. */
  readonly imageSignatures?: () => Promise<readonly ImageSignature[]>;
  /**
   * The image config blob, sent when the image declares an output policy: the verifier checks its digest
   * against the measured image ID and carries the policy into the token.
   */
  readonly imageConfig?: Uint8Array;
  /** The default token's audience, `https://sts.<universe>`. */
  readonly defaultAudience: string;
  /** The outbound client's fetch (the host's); by default one that trusts `baseUrl` and nothing else. */
  readonly fetch?: OutboundFetch;
  /** Per call (Google's client uses 1 s; a soft platform on a busy host needs more). */
  readonly timeoutMs?: number;
}

/** Statuses of a verifier refusal a workload can act on; the teeserver answers those with 400. */
const REFUSAL_STATUSES = new Set([
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'NOT_FOUND',
  'OUT_OF_RANGE',
]);

/**
 * The body's JSON text, encoded against the evidence schema the verifier parses with: a body it would
 * refuse is never sent, and the refusal reads as the verifier's would.
 */
function encodeRequest(request: VerifyConfidentialSpaceRequest): string {
  try {
    return encodeVerifyConfidentialSpaceRequest(request);
  } catch (cause) {
    if (!(cause instanceof ContractError)) throw cause;
    throw new LauncherError(
      'ERR_LAUNCHER_VERIFIER_REFUSED',
      `the evidence breaks the verifier's schema: ${cause.message}`,
      {
        cause,
      },
    );
  }
}

/**
 * The request members of one platform's evidence: a TPM's quotes, or a hardware report or quote with the
 * launch log and the instance identity certificate its report_data binds (sent as `gceShieldedIdentity`).
 */
export function evidenceMembers(
  evidence: PlatformEvidence,
): Pick<VerifyConfidentialSpaceRequest, 'tpmAttestation' | 'tdCcel' | 'sevSnpAttestation' | 'gceShieldedIdentity'> {
  if (evidence.kind === 'tpm') return { tpmAttestation: toTpmAttestationJson(evidence.tpm) };
  const gceShieldedIdentity = { akCert: toBase64(evidence.identityCertificate), akCertChain: [] };
  if (evidence.kind === 'tdx') {
    return {
      tdCcel: toTdCcelJson({ ...evidence.tdx, canonicalEventLog: evidence.canonicalEventLog }),
      gceShieldedIdentity,
    };
  }
  return {
    sevSnpAttestation: toSevSnpAttestationJson({ ...evidence.sevSnp, canonicalEventLog: evidence.canonicalEventLog }),
    gceShieldedIdentity,
  };
}

/**
 * A token source that attests through the verifier's REST API: one challenge, the platform's evidence, one
 * `:verifyConfidentialSpace` per token.
 *
 * @example
 * ```ts
 * const source = createVerifierTokenSource({ baseUrl, projectId, region: regionOfZone(zone), accessToken,
 *   idTokens, platform, defaultAudience: 'https://sts.googleapis.com' });
 * const token = await source.fetchDefaultToken();
 * ```
 */
export function createVerifierTokenSource(options: VerifierClientOptions): TokenSource {
  const doFetch = options.fetch ?? createOutboundClient({ policy: { trustedOrigins: [options.baseUrl] } }).fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  /** POSTs `body` (JSON text) and returns the answer's JSON object; a refusal becomes a launcher error. */
  const call = async (path: string, body: string): Promise<Record<string, unknown>> => {
    let response: Response;
    try {
      response = await doFetch(`${options.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await options.accessToken()}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        timeoutMs,
      });
    } catch (cause) {
      throw new LauncherError(
        'ERR_LAUNCHER_VERIFIER_UNAVAILABLE',
        `the verifier at ${options.baseUrl} is unreachable`,
        {
          cause,
        },
      );
    }
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.ok) return json;
    const error = (json.error ?? {}) as { status?: string; message?: string };
    const message = `the verifier refused (${response.status} ${error.status ?? ''}): ${String(error.message ?? '').slice(0, 500)}`;
    if (REFUSAL_STATUSES.has(error.status ?? '')) throw new LauncherError('ERR_LAUNCHER_VERIFIER_REFUSED', message);
    throw new LauncherError('ERR_LAUNCHER_VERIFIER_UNAVAILABLE', message);
  };

  const attest = async (
    audience: string | undefined,
    nonces: readonly string[],
    signatureType: string,
  ): Promise<string> => {
    const parent = `projects/${options.projectId}/locations/${options.region}`;
    const challenge = await call(`/v1/${parent}/challenges`, '{}');
    const name = String(challenge.name ?? '');
    const nonce = fromBase64(String(challenge.tpmNonce ?? ''), 'tpmNonce');
    const [evidence, idTokens, signatures] = await Promise.all([
      options.platform.attest(nonce),
      options.idTokens(name),
      options.imageSignatures?.() ?? Promise.resolve([]),
    ]);
    const request: VerifyConfidentialSpaceRequest = {
      challenge: name,
      gcpCredentials: { serviceAccountIdTokens: idTokens },
      ...evidenceMembers(evidence),
      signedEntities: [
        {
          containerImageSignatures: signatures.map((s) => ({
            payload: toBase64(s.payload),
            signature: toBase64(s.signature),
          })),
        },
      ],
      ...(options.imageConfig ? { sealroomImageConfig: toBase64(options.imageConfig) } : {}),
      options: {
        ...(audience === undefined ? {} : { audience }),
        nonce: [...nonces],
        tokenProfile: 'TOKEN_PROFILE_DEFAULT_EAT',
        signatureType,
      },
    };
    const result = await call(`/v1/${name}:verifyConfidentialSpace`, encodeRequest(request));
    const token = result.attestationToken;
    if (typeof token !== 'string' || token === '') {
      throw new LauncherError('ERR_LAUNCHER_VERIFIER_UNAVAILABLE', 'the verifier answered without attestationToken');
    }
    return token;
  };

  return {
    fetchDefaultToken: () => attest(options.defaultAudience, [], 'SIGNATURE_TYPE_OIDC'),
    fetchCustomToken: (request: CustomTokenRequest) =>
      attest(request.audience, request.nonces, `SIGNATURE_TYPE_${request.tokenType}`),
  };
}

/** The region of a zone: `us-central1-a` → `us-central1` (go-tpm-tools `verifier/util`). */
export function regionOfZone(zone: string): string {
  const cut = zone.lastIndexOf('-');
  return cut > 0 ? zone.slice(0, cut) : zone;
}
