// REST routes of the verifier: Confidential Computing v1 shapes (docs/verifier.md, "API"), discovery and
// JWKS.
import {
  CoreError,
  fromBase64Lenient,
  fromSevSnpAttestationJson,
  fromSignedEntitiesJson,
  fromTdCcelJson,
  fromTpmAttestationJson,
  type SevSnpAttestationJson,
  type TdCcelJson,
  parseVerifyAttestationRequest,
  parseVerifyConfidentialSpaceRequest,
  type TpmAttestationJson,
} from '@sealroom/core';
import { ERROR_DOMAIN, parseWith, reply } from '@sealroom/transport';
import type { ApiRequest, ApiRoute } from '@sealroom/transport';
import { z } from 'zod';
import { VerifierError } from './errors.ts';
import type { HardwareEvidence } from './hardware-appraisal.ts';
import type { TokenOptions, Verifier, VerifyRequest } from './service.ts';

interface EvidenceMembers {
  readonly tpmAttestation?: TpmAttestationJson;
  readonly tdCcel?: TdCcelJson;
  readonly sevSnpAttestation?: SevSnpAttestationJson;
  readonly nvidiaAttestation?: unknown;
}

type ShieldedIdentity = { readonly akCert?: string; readonly akCertChain: readonly string[] };

/**
 * The body's evidence as bytes: vTPM evidence, a SEV-SNP report or TDX quote beside it (GCE's shape), or a
 * bare report with the instance identity certificate (`gceShieldedIdentity`) its report_data binds.
 */
function evidenceOf(
  body: EvidenceMembers,
  shieldedIdentity?: ShieldedIdentity,
): Pick<VerifyRequest, 'evidence' | 'hardware' | 'identity'> {
  if (body.nvidiaAttestation !== undefined) {
    throw new VerifierError('ERR_VERIFIER_UNSUPPORTED_EVIDENCE', 'GPU evidence is not supported yet.');
  }
  const hardware: HardwareEvidence = {
    ...(body.sevSnpAttestation === undefined ? {} : { sevSnp: fromSevSnpAttestationJson(body.sevSnpAttestation) }),
    ...(body.tdCcel === undefined ? {} : { tdx: fromTdCcelJson(body.tdCcel) }),
  };
  if (hardware.sevSnp !== undefined && hardware.tdx !== undefined) {
    throw new VerifierError('ERR_VERIFIER_UNSUPPORTED_EVIDENCE', 'Send one hardware report: SEV-SNP or TDX.');
  }
  const hasHardware = hardware.sevSnp !== undefined || hardware.tdx !== undefined;
  if (body.tpmAttestation !== undefined) {
    return {
      evidence: fromTpmAttestationJson(body.tpmAttestation, shieldedIdentity),
      ...(hasHardware ? { hardware } : {}),
    };
  }
  if (!hasHardware) {
    throw new VerifierError(
      'ERR_VERIFIER_UNSUPPORTED_EVIDENCE',
      'Send tpmAttestation, sevSnpAttestation or tdCcel evidence.',
    );
  }
  const akCert = shieldedIdentity?.akCert;
  return {
    hardware,
    ...(akCert === undefined
      ? {}
      : {
          identity: {
            certificate: fromBase64Lenient(akCert, 'gceShieldedIdentity.akCert'),
            chain: (shieldedIdentity?.akCertChain ?? []).map((c) =>
              fromBase64Lenient(c, 'gceShieldedIdentity.akCertChain'),
            ),
          },
        }),
  };
}

function signatureKind(value: string | undefined): TokenOptions['signature'] {
  if (value === undefined || value === '' || /(^|_)OIDC$/.test(value) || /UNSPECIFIED$/.test(value)) return 'OIDC';
  if (/(^|_)PKI$/.test(value)) return 'PKI';
  throw new CoreError('ERR_UNIMPLEMENTED', `Token type '${value}' is not offered by this verifier.`);
}

function challengeOf(request: ApiRequest): string {
  return request.params.challenge ?? '';
}

export function verifierRoutes(verifier: Verifier): ApiRoute[] {
  const prefix = new URL(verifier.issuer).pathname.replace(/\/$/, '');
  return [
    {
      method: 'GET',
      path: '/v1/{name=projects/*/locations/*}',
      handler: async (req) => {
        const [, project = '', , location = ''] = (req.params.name ?? '').split('/');
        return verifier.getLocation(req.caller, project, location);
      },
    },
    {
      method: 'POST',
      path: '/v1/{parent=projects/*/locations/*}/challenges',
      handler: async (req) => {
        parseWith(z.strictObject({}), req.body ?? {});
        const [, project = '', , location = ''] = (req.params.parent ?? '').split('/');
        return verifier.createChallenge(req.caller, project, location);
      },
    },
    {
      method: 'POST',
      path: '/v1/{challenge=projects/*/locations/*/challenges/*}:verifyAttestation',
      bodyLimit: 32 * 1024 * 1024,
      handler: async (req) => {
        const body = parseVerifyAttestationRequest(req.body);
        const request: VerifyRequest = {
          ...evidenceOf(body),
          serviceAccountIdTokens: body.gcpCredentials?.serviceAccountIdTokens ?? [],
          imageSignatures: fromSignedEntitiesJson(body.confidentialSpaceInfo?.signedEntities ?? []),
          options: {
            ...(body.tokenOptions?.audience === undefined ? {} : { audience: body.tokenOptions.audience }),
            nonces: body.tokenOptions?.nonce ?? [],
            signature: signatureKind(body.tokenOptions?.tokenType),
          },
        };
        const result = await verifier.verify(req.caller, challengeOf(req), request);
        return { oidcClaimsToken: result.token, partialErrors: result.partialErrors.map(toStatus) };
      },
    },
    {
      method: 'POST',
      path: '/v1/{challenge=projects/*/locations/*/challenges/*}:verifyConfidentialSpace',
      bodyLimit: 32 * 1024 * 1024,
      handler: async (req) => {
        const body = parseVerifyConfidentialSpaceRequest(req.body);
        if (body.options?.tokenProfile !== undefined && !/DEFAULT_EAT$|UNSPECIFIED$/.test(body.options.tokenProfile)) {
          throw new CoreError('ERR_UNIMPLEMENTED', `Token profile '${body.options.tokenProfile}' is not offered.`);
        }
        const request: VerifyRequest = {
          ...evidenceOf(body, body.gceShieldedIdentity),
          serviceAccountIdTokens: body.gcpCredentials?.serviceAccountIdTokens ?? [],
          imageSignatures: fromSignedEntitiesJson(body.signedEntities),
          ...(body.sealroomImageConfig === undefined
            ? {}
            : { imageConfig: fromBase64Lenient(body.sealroomImageConfig, 'sealroomImageConfig') }),
          options: {
            ...(body.options?.audience === undefined ? {} : { audience: body.options.audience }),
            nonces: body.options?.nonce ?? [],
            signature: signatureKind(body.options?.signatureType),
          },
        };
        const result = await verifier.verify(req.caller, challengeOf(req), request);
        return { attestationToken: result.token, partialErrors: result.partialErrors.map(toStatus) };
      },
    },
    {
      method: 'GET',
      path: `${prefix}/.well-known/openid-configuration`,
      auth: 'none',
      handler: async () => reply(verifier.discovery(), 200, { 'cache-control': 'public, max-age=300' }),
    },
    {
      method: 'GET',
      path: `${prefix}/.well-known/jwks`,
      auth: 'none',
      handler: async () => reply(await verifier.jwks(), 200, { 'cache-control': 'public, max-age=300' }),
    },
    {
      method: 'GET',
      path: `${prefix}/.well-known/attestation-pki-root`,
      auth: 'none',
      handler: async () => {
        const der = await verifier.pkiRoot();
        const pem = `-----BEGIN CERTIFICATE-----\n${der
          .toString('base64')
          .replace(/(.{64})/g, '$1\n')
          .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
        return reply(pem, 200, { 'content-type': 'application/x-pem-file' });
      },
    },
  ];
}

function toStatus(error: { code: number; message: string; reason: string }) {
  return {
    code: error.code,
    message: error.message,
    details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: error.reason, domain: ERROR_DOMAIN }],
  };
}
