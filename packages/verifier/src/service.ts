// The verifier's domain logic: challenges, appraisal of evidence, and token issuance. No HTTP here.
import { createHash } from 'node:crypto';
import { readInstanceInfo, verifyAkCertificateChain } from '@sealroom/attest';
import type { HwModel, TpmEvidence } from '@sealroom/attest';
import { CLAIMS_SCHEMA, CoreError, newUuidV7, outputPolicyClaims, pooledRandomBytes, toRfc3339 } from '@sealroom/core';
import type { Caller, Clock, Logger, SealroomClaims } from '@sealroom/core';
import type { ServiceContext } from '@sealroom/transport';
import { appraiseTpmEvidence, toVerifierError } from './appraisal.ts';
import type { Appraisal, TrustedRoot } from './appraisal.ts';
import { buildClaims } from './claims.ts';
import type { LoadedCollateral } from './collateral-store.ts';
import { type HardwareEvidence, type HardwarePolicy, appraiseHardware, spkiOf } from './hardware-appraisal.ts';
import type { VerifierConfig } from './config.ts';
import { VerifierError } from './errors.ts';
import type { ImageDatabase } from './image-db.ts';
import { verifyImageSignatures } from './image-signatures.ts';
import type { ImageSignatureInput } from './image-signatures.ts';
import type { ServiceAccountTokenVerifier } from './sa-tokens.ts';
import type { KeyRing } from './signing-keys.ts';
import type { VerifierStore } from './store.ts';

export const NONCE_BYTES = 32;
export const MAX_NONCES = 6;
export const MIN_NONCE_BYTES = 8;
export const MAX_NONCE_BYTES = 88;
export const MAX_AUDIENCE_BYTES = 512;

export const PERMISSION = {
  createChallenge: 'confidentialcomputing.challenges.create',
  verify: 'confidentialcomputing.challenges.verify',
  getLocation: 'confidentialcomputing.locations.get',
} as const;

export interface Challenge {
  readonly name: string;
  readonly createTime: string;
  readonly expireTime: string;
  readonly used: boolean;
  readonly tpmNonce: string;
}

export interface TokenOptions {
  readonly audience?: string;
  readonly nonces: readonly string[];
  readonly signature: 'OIDC' | 'PKI';
}

export interface VerifyRequest {
  /** vTPM evidence; absent when a bare hardware report is sent. */
  readonly evidence?: TpmEvidence;
  /** A SEV-SNP report or TDX quote: beside `evidence` (GCE's shape) or alone with `identity`. */
  readonly hardware?: HardwareEvidence;
  /** Bare hardware evidence: the instance identity certificate its report_data binds, and its chain. */
  readonly identity?: { readonly certificate: Uint8Array; readonly chain: readonly Uint8Array[] };
  readonly serviceAccountIdTokens: readonly string[];
  readonly imageSignatures: readonly ImageSignatureInput[];
  readonly options: TokenOptions;
  /** The image config blob; its labels are trusted only when it hashes to the measured image ID. */
  readonly imageConfig?: Uint8Array;
}

export interface PartialError {
  readonly code: number;
  readonly message: string;
  readonly reason: string;
}

export interface VerifyResult {
  readonly token: string;
  readonly partialErrors: readonly PartialError[];
}

export interface VerifierDeps {
  readonly store: VerifierStore;
  readonly keys: KeyRing;
  readonly config: VerifierConfig;
  readonly issuer: string;
  readonly roots: readonly TrustedRoot[];
  readonly intermediates: readonly Uint8Array[];
  readonly images: ImageDatabase;
  readonly verifyServiceAccountTokens: ServiceAccountTokenVerifier;
  /** The deployment's collateral store, read (never fetched) for each hardware appraisal. */
  readonly collateral?: () => LoadedCollateral;
  readonly context: Pick<ServiceContext, 'authorizer' | 'audit' | 'projects' | 'settings'>;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Expired challenges are deleted at most this often, and kept this long past expiry (for audit answers). */
const CLEANUP_INTERVAL_MS = 3600_000;
const VERIFY_METHOD = 'google.cloud.confidentialcomputing.v1.ConfidentialComputing.VerifyAttestation';
const LOCATION = /^[a-z0-9-]{1,63}$/;

export interface Verifier {
  readonly issuer: string;
  getLocation(
    caller: Caller | undefined,
    project: string,
    location: string,
  ): Promise<{ name: string; locationId: string }>;
  createChallenge(caller: Caller | undefined, project: string, location: string): Promise<Challenge>;
  verify(caller: Caller | undefined, challengeName: string, request: VerifyRequest): Promise<VerifyResult>;
  /** Appraises evidence against a nonce without a challenge (benchmarks, the launcher's self-check). */
  appraise(evidence: TpmEvidence, nonce: Uint8Array): Appraisal;
  issueToken(appraisal: Appraisal, serviceAccounts: readonly string[], request: VerifyRequest): Promise<string>;
  discovery(): Record<string, unknown>;
  jwks(): ReturnType<KeyRing['jwks']>;
  pkiRoot(): Promise<Buffer>;
  /** The hwmodel of each trusted root, for status pages. */
  trustedPlatforms(): readonly HwModel[];
}

function checkTokenOptions(options: TokenOptions): void {
  if (options.audience !== undefined && Buffer.byteLength(options.audience) > MAX_AUDIENCE_BYTES) {
    throw new VerifierError('ERR_VERIFIER_TOKEN_OPTIONS', `The audience exceeds ${MAX_AUDIENCE_BYTES} bytes.`);
  }
  if (options.nonces.length > MAX_NONCES) {
    throw new VerifierError('ERR_VERIFIER_TOKEN_OPTIONS', `At most ${MAX_NONCES} nonces are allowed.`);
  }
  for (const nonce of options.nonces) {
    const size = Buffer.byteLength(nonce);
    if (size < MIN_NONCE_BYTES || size > MAX_NONCE_BYTES) {
      throw new VerifierError(
        'ERR_VERIFIER_TOKEN_OPTIONS',
        `Each nonce must be ${MIN_NONCE_BYTES}-${MAX_NONCE_BYTES} bytes.`,
      );
    }
  }
}

export function createVerifier(deps: VerifierDeps): Verifier {
  const { store, clock, config } = deps;
  let lastCleanup = 0;

  const resolveProject = async (caller: Caller | undefined, project: string, location: string, permission: string) => {
    if (!LOCATION.test(location)) throw new CoreError('ERR_INVALID_RESOURCE_NAME', `Invalid location '${location}'.`);
    const resource = `projects/${project}/locations/${location}`;
    await deps.context.authorizer.authorize(caller, permission, resource);
    const ref = await deps.context.projects.resolve(project);
    if (ref === undefined)
      throw new CoreError(
        'ERR_PERMISSION_DENIED',
        `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
      );
    return ref;
  };

  const appraise = (evidence: TpmEvidence, nonce: Uint8Array): Appraisal =>
    appraiseTpmEvidence(evidence, nonce, {
      roots: deps.roots,
      intermediates: deps.intermediates,
      images: deps.images,
      devSwversion: config.devSwversion,
      at: new Date(clock.now()),
    });

  const hardwarePolicy = (at: Date): HardwarePolicy => ({
    at,
    collateral: deps.collateral?.() ?? { certificates: [], crls: [], tcbInfos: [], qeIdentities: [] },
    amdArkSha256: config.amdArkSha256,
    acceptedTcbStatuses: config.tdxAcceptedTcbStatuses,
    allowStaleCollateral: config.allowStaleCollateral,
    allowDebug: config.allowDebugHardware,
  });

  const mapped = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw toVerifierError(error);
    }
  };

  /** Bare hardware evidence: the identity certificate names the instance, the report binds its key. */
  const appraiseBare = (request: VerifyRequest, hardware: HardwareEvidence, nonce: Uint8Array): Appraisal => {
    const at = new Date(clock.now());
    const identity = request.identity;
    if (identity === undefined || identity.certificate.length === 0) {
      throw new VerifierError(
        'ERR_VERIFIER_EVIDENCE_INCOMPLETE',
        'A hardware report without a vTPM needs the instance identity certificate (gceShieldedIdentity.akCert).',
      );
    }
    mapped(() =>
      verifyAkCertificateChain(identity.certificate, {
        intermediates: [...identity.chain, ...deps.intermediates],
        roots: deps.roots.map((r) => r.certificate),
        at,
      }),
    );
    const instance = mapped(() => readInstanceInfo(identity.certificate));
    if (instance === undefined || !instance.isProduction) {
      throw new VerifierError(
        'ERR_VERIFIER_NO_INSTANCE_IDENTITY',
        'The identity certificate carries no production instance identity.',
      );
    }
    const boundKey = spkiOf(identity.certificate);
    const hw = mapped(() => appraiseHardware(hardware, { nonce, boundKey, withVtpm: false }, hardwarePolicy(at)));
    const image = deps.images.lookupLaunch(hw.launchMeasurement);
    if (image === undefined) {
      throw new VerifierError('ERR_VERIFIER_UNKNOWN_IMAGE', 'The launch measurement is not in the image database.');
    }
    const container = hw.cosState?.container;
    if (container === undefined || container.imageReference === '' || container.imageDigest === '') {
      throw new VerifierError(
        'ERR_VERIFIER_MISSING_LAUNCH_EVENTS',
        'The canonical event log lacks the ImageRef, ImageDigest or RestartPolicy launch event.',
      );
    }
    return {
      hwmodel: hw.claims.hwmodel,
      instance,
      image,
      boot: { kernelCmdline: '', secureBoot: { enabled: false, db: [] }, bootApplications: {} },
      ...(hw.cosState === undefined ? {} : { cosState: hw.cosState }),
      hardware: hw.claims,
    };
  };

  /** The request's evidence appraised: a vTPM (with or without a hardware report bound to its AK), or bare hardware. */
  const appraiseRequest = (request: VerifyRequest, nonce: Uint8Array): Appraisal => {
    const { evidence, hardware } = request;
    if (evidence === undefined) {
      if (hardware === undefined) {
        throw new VerifierError('ERR_VERIFIER_UNSUPPORTED_EVIDENCE', 'The request carries no evidence.');
      }
      return appraiseBare(request, hardware, nonce);
    }
    const base = appraise(evidence, nonce);
    if (hardware === undefined) return base;
    const at = new Date(clock.now());
    const hw = mapped(() =>
      appraiseHardware(
        hardware,
        { nonce, boundKey: base.akSpki ?? Buffer.alloc(0), withVtpm: true },
        hardwarePolicy(at),
      ),
    );
    const known = base.image.launchMeasurements;
    if (known !== undefined && !known.includes(hw.launchMeasurement)) {
      throw new VerifierError(
        'ERR_VERIFIER_UNKNOWN_IMAGE',
        "The hardware launch measurement is not one of the image's in the image database.",
      );
    }
    return { ...base, hwmodel: hw.claims.hwmodel, hardware: hw.claims };
  };

  const issueToken = async (appraisal: Appraisal, serviceAccounts: readonly string[], request: VerifyRequest) => {
    const imageDigest = appraisal.cosState?.container.imageDigest ?? '';
    const signatures = verifyImageSignatures(request.imageSignatures, imageDigest);
    const sealroom = imageConfigClaims(request.imageConfig, appraisal.cosState?.container.imageId ?? '');
    const claims = buildClaims({
      ...(sealroom ? { sealroom } : {}),
      issuer: deps.issuer,
      audience: request.options.audience || `https://sts.${deps.context.settings.universeDomain}`,
      nonces: request.options.nonces,
      nowSeconds: Math.floor(clock.now() / 1000),
      ttlSeconds: config.tokenTtlSeconds,
      appraisal,
      serviceAccounts,
      imageSignatures: signatures.verified,
      ...(appraisal.hardware === undefined ? {} : { hardware: appraisal.hardware }),
    });
    return {
      token: await deps.keys.sign(claims, { x5c: request.options.signature === 'PKI' }),
      errors: signatures.errors,
      outputPolicyDigest: sealroom?.output_policy_digest,
    };
  };

  return {
    issuer: deps.issuer,

    async getLocation(caller, project, location) {
      await resolveProject(caller, project, location, PERMISSION.getLocation);
      return { name: `projects/${project}/locations/${location}`, locationId: location };
    },

    async createChallenge(caller, project, location) {
      const ref = await resolveProject(caller, project, location, PERMISSION.createChallenge);
      const now = clock.now();
      const record = {
        name: `projects/${ref.projectId}/locations/${location}/challenges/${newUuidV7(now)}`,
        nonce: pooledRandomBytes(NONCE_BYTES),
        createTime: now,
        expireTime: now + config.challengeTtlSeconds * 1000,
        used: false,
      };
      await store.insertChallenge(record);
      if (now - lastCleanup > CLEANUP_INTERVAL_MS) {
        lastCleanup = now;
        await store.deleteChallengesExpiredBefore(now - CLEANUP_INTERVAL_MS);
      }
      return {
        name: record.name,
        createTime: toRfc3339(record.createTime),
        expireTime: toRfc3339(record.expireTime),
        used: false,
        tpmNonce: record.nonce.toString('base64'),
      };
    },

    async verify(caller, challengeName, request) {
      const [, project = '', , location = '', , id = ''] = challengeName.split('/');
      const ref = await resolveProject(caller, project, location, PERMISSION.verify);
      const name = `projects/${ref.projectId}/locations/${location}/challenges/${id}`;
      const audit = async (outcome: 'ALLOWED' | 'DENIED', status: string, details: Record<string, unknown> = {}) =>
        deps.context.audit.record({
          project: ref.projectId,
          method: VERIFY_METHOD,
          resource: name,
          caller,
          outcome,
          status,
          details,
        });
      try {
        checkTokenOptions(request.options);
        // Consumed before appraisal, in one round trip: a failed attempt uses the challenge up too. Only when
        // it cannot be had is it read again, to say why (missing, expired, or used).
        const challenge = await store.useChallenge(name);
        const refusal = challenge === undefined ? await store.getChallenge(name) : undefined;
        const record = challenge ?? refusal;
        if (record === undefined)
          throw new VerifierError('ERR_VERIFIER_CHALLENGE_NOT_FOUND', `Challenge ${name} not found.`);
        if (record.expireTime <= clock.now()) {
          throw new VerifierError('ERR_VERIFIER_CHALLENGE_EXPIRED', `Challenge ${name} has expired.`);
        }
        if (challenge === undefined) {
          throw new VerifierError('ERR_VERIFIER_CHALLENGE_USED', `Challenge ${name} was already used.`);
        }
        const appraisal = appraiseRequest(request, challenge.nonce);
        const serviceAccounts = await deps.verifyServiceAccountTokens(request.serviceAccountIdTokens, name);
        const { token, errors, outputPolicyDigest } = await issueToken(appraisal, serviceAccounts, request);
        await audit('ALLOWED', 'OK', {
          ...tokenDigests(token),
          ...(outputPolicyDigest ? { outputPolicyDigest } : {}),
          hwmodel: appraisal.hwmodel,
          instanceId: appraisal.instance.instanceId,
          imageDigest: appraisal.cosState?.container.imageDigest ?? '',
          swversion: appraisal.image.swversion,
        });
        return {
          token,
          partialErrors: errors.map((e) => ({ code: 3, message: e.message, reason: e.code })),
        };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        await audit('DENIED', typeof code === 'string' ? code : 'ERR_INTERNAL');
        if (error instanceof VerifierError || error instanceof CoreError) {
          deps.logger.info({ challenge: name, code: error.code }, 'attestation refused');
        }
        throw error;
      }
    },

    appraise,
    issueToken: async (appraisal, serviceAccounts, request) =>
      (await issueToken(appraisal, serviceAccounts, request)).token,

    discovery() {
      return {
        issuer: deps.issuer,
        jwks_uri: `${deps.issuer}/.well-known/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
        // Every top-level claim of the claims contract, so discovery and the tokens cannot disagree.
        claims_supported: Object.keys(CLAIMS_SCHEMA.properties ?? {}),
      };
    },
    jwks: () => deps.keys.jwks(),
    pkiRoot: () => deps.keys.pkiRoot(),
    trustedPlatforms: () => deps.roots.map((r) => r.hwmodel),
  };
}

/**
 * Digests that name an issued token without revealing it: of the claims (the JWT payload bytes) and of the
 * whole token, the latter computed as the token service's audit computes `subjectTokenDigest`, so a
 * collaborator can match its exchange to this issuance.
 */
export function tokenDigests(token: string): { claimsDigest: string; tokenDigest: string } {
  const payload = Buffer.from(token.split('.')[1] ?? '', 'base64url');
  return {
    claimsDigest: createHash('sha256').update(payload).digest('hex'),
    tokenDigest: createHash('sha256').update(token).digest('hex').slice(0, 32),
  };
}

/**
 * The `submods.sealroom` claims of the image config sent with the evidence. Its labels are the image
 * author's only if the blob hashes to the image ID the launcher measured; a policy that does not parse
 * refuses the token rather than leaving the claim out.
 */
export function imageConfigClaims(blob: Uint8Array | undefined, measuredImageId: string): SealroomClaims | undefined {
  if (blob === undefined) return undefined;
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  if (measuredImageId === '' || digest !== measuredImageId) {
    throw new VerifierError(
      'ERR_VERIFIER_IMAGE_CONFIG_MISMATCH',
      `The image config ${digest} is not the measured image ID ${measuredImageId || '(none)'}.`,
    );
  }
  let labels: Record<string, string>;
  try {
    const config = JSON.parse(Buffer.from(blob).toString('utf8')) as { config?: { Labels?: Record<string, string> } };
    labels = config.config?.Labels ?? {};
  } catch (cause) {
    throw new VerifierError('ERR_VERIFIER_IMAGE_CONFIG_MISMATCH', 'The image config is not JSON.', { cause });
  }
  try {
    return outputPolicyClaims(labels);
  } catch (cause) {
    throw new VerifierError('ERR_VERIFIER_OUTPUT_POLICY_INVALID', (cause as Error).message, { cause });
  }
}
