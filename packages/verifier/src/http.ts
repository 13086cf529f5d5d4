// REST routes of the verifier: Confidential Computing v1 shapes (reference/gcp-compat.md §8), discovery and JWKS.
import { CoreError, fromBase64Lenient } from '@sealroom/core';
import type { TpmEvidence } from '@sealroom/attest';
import { ERROR_DOMAIN, parseWith, reply } from '@sealroom/transport';
import type { ApiRequest, ApiRoute } from '@sealroom/transport';
import { z } from 'zod';
import { VerifierError } from './errors.ts';
import type { ImageSignatureInput } from './image-signatures.ts';
import type { TokenOptions, Verifier, VerifyRequest } from './service.ts';

const HASH_ALGO: Readonly<Record<string, number>> = { SHA1: 4, SHA256: 11, SHA384: 12, SHA512: 13 };
const b64 = z.string().max(8 * 1024 * 1024);

const quoteSchema = z.strictObject({
  hashAlgo: z.union([z.number().int(), z.string()]),
  pcrValues: z.record(z.string().regex(/^[0-9]{1,2}$/), b64).default({}),
  rawQuote: b64.default(''),
  rawSignature: b64.default(''),
});

const tpmSchema = z.strictObject({
  quotes: z.array(quoteSchema).max(8).default([]),
  tcgEventLog: b64.optional(),
  canonicalEventLog: b64.optional(),
  akCert: b64.optional(),
  certChain: z.array(b64).max(8).default([]),
});

const signatureSchema = z.strictObject({
  payload: b64,
  signature: b64,
  publicKey: z.string().optional(),
  sigAlg: z.union([z.string(), z.number()]).optional(),
});
const signedEntitySchema = z.strictObject({ containerImageSignatures: z.array(signatureSchema).default([]) });
const credentialsSchema = z.strictObject({ serviceAccountIdTokens: z.array(z.string().max(16 * 1024)).default([]) });
const unsupported = z.unknown().optional();

const verifyAttestationSchema = z.strictObject({
  challenge: z.string().optional(),
  gcpCredentials: credentialsSchema.optional(),
  tpmAttestation: tpmSchema.optional(),
  confidentialSpaceInfo: z.strictObject({ signedEntities: z.array(signedEntitySchema).default([]) }).optional(),
  tokenOptions: z
    .strictObject({
      audience: z.string().optional(),
      nonce: z.array(z.string()).default([]),
      tokenType: z.string().optional(),
      awsPrincipalTagsOptions: unsupported,
    })
    .optional(),
  tdCcel: unsupported,
  sevSnpAttestation: unsupported,
  nvidiaAttestation: unsupported,
  attester: z.string().optional(),
  instance: z.string().optional(),
});

const verifyConfidentialSpaceSchema = z.strictObject({
  challenge: z.string().optional(),
  tpmAttestation: tpmSchema.optional(),
  tdCcel: unsupported,
  gcpCredentials: credentialsSchema.optional(),
  signedEntities: z.array(signedEntitySchema).default([]),
  gceShieldedIdentity: z.strictObject({ akCert: b64.optional(), akCertChain: z.array(b64).default([]) }).optional(),
  /** Sealroom's addition: the image config blob, whose digest is the measured image ID (labels → claims). */
  sealroomImageConfig: b64.optional(),
  options: z
    .strictObject({
      audience: z.string().optional(),
      tokenProfile: z.string().optional(),
      nonce: z.array(z.string()).default([]),
      signatureType: z.string().optional(),
      awsPrincipalTagsOptions: unsupported,
    })
    .optional(),
  nvidiaAttestation: unsupported,
});

function bytes(value: string | undefined, field: string): Buffer {
  return value === undefined ? Buffer.alloc(0) : fromBase64Lenient(value, field);
}

function toEvidence(
  tpm: z.infer<typeof tpmSchema> | undefined,
  extraCert?: { akCert?: string | undefined; akCertChain: string[] },
): TpmEvidence {
  if (tpm === undefined) {
    throw new VerifierError('ERR_VERIFIER_UNSUPPORTED_EVIDENCE', 'Only tpmAttestation evidence is supported here.');
  }
  const akCert = tpm.akCert ?? extraCert?.akCert;
  return {
    quotes: tpm.quotes.map((q, i) => {
      const hashAlgo = typeof q.hashAlgo === 'number' ? q.hashAlgo : HASH_ALGO[q.hashAlgo];
      if (hashAlgo === undefined)
        throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at 'tpmAttestation.quotes[${i}].hashAlgo'.`);
      return {
        hashAlgo,
        pcrValues: new Map(
          Object.entries(q.pcrValues).map(([k, v]) => [Number(k), bytes(v, `tpmAttestation.quotes[${i}].pcrValues`)]),
        ),
        rawQuote: bytes(q.rawQuote, `tpmAttestation.quotes[${i}].rawQuote`),
        rawSignature: bytes(q.rawSignature, `tpmAttestation.quotes[${i}].rawSignature`),
      };
    }),
    akCert: bytes(akCert, 'tpmAttestation.akCert'),
    certChain: [...tpm.certChain, ...(extraCert?.akCertChain ?? [])].map((c) => bytes(c, 'tpmAttestation.certChain')),
    tcgEventLog: bytes(tpm.tcgEventLog, 'tpmAttestation.tcgEventLog'),
    canonicalEventLog: bytes(tpm.canonicalEventLog, 'tpmAttestation.canonicalEventLog'),
  };
}

function toSignatures(entities: ReadonlyArray<z.infer<typeof signedEntitySchema>>): ImageSignatureInput[] {
  return entities.flatMap((e) =>
    e.containerImageSignatures.map((s) => ({
      payload: bytes(s.payload, 'containerImageSignatures.payload'),
      signature: bytes(s.signature, 'containerImageSignatures.signature'),
    })),
  );
}

function signatureKind(value: string | undefined): TokenOptions['signature'] {
  if (value === undefined || value === '' || /(^|_)OIDC$/.test(value) || /UNSPECIFIED$/.test(value)) return 'OIDC';
  if (/(^|_)PKI$/.test(value)) return 'PKI';
  throw new CoreError('ERR_UNIMPLEMENTED', `Token type '${value}' is not offered by this verifier.`);
}

function refuseOtherEvidence(body: {
  tdCcel?: unknown;
  sevSnpAttestation?: unknown;
  nvidiaAttestation?: unknown;
}): void {
  if (body.tdCcel !== undefined || body.sevSnpAttestation !== undefined || body.nvidiaAttestation !== undefined) {
    throw new VerifierError(
      'ERR_VERIFIER_UNSUPPORTED_EVIDENCE',
      'TDX, SEV-SNP and GPU evidence are not supported yet.',
    );
  }
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
        const body = parseWith(verifyAttestationSchema, req.body);
        refuseOtherEvidence(body);
        const request: VerifyRequest = {
          evidence: toEvidence(body.tpmAttestation),
          serviceAccountIdTokens: body.gcpCredentials?.serviceAccountIdTokens ?? [],
          imageSignatures: toSignatures(body.confidentialSpaceInfo?.signedEntities ?? []),
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
        const body = parseWith(verifyConfidentialSpaceSchema, req.body);
        refuseOtherEvidence(body);
        if (body.options?.tokenProfile !== undefined && !/DEFAULT_EAT$|UNSPECIFIED$/.test(body.options.tokenProfile)) {
          throw new CoreError('ERR_UNIMPLEMENTED', `Token profile '${body.options.tokenProfile}' is not offered.`);
        }
        const request: VerifyRequest = {
          evidence: toEvidence(body.tpmAttestation, body.gceShieldedIdentity ?? { akCertChain: [] }),
          serviceAccountIdTokens: body.gcpCredentials?.serviceAccountIdTokens ?? [],
          imageSignatures: toSignatures(body.signedEntities),
          ...(body.sealroomImageConfig === undefined
            ? {}
            : { imageConfig: bytes(body.sealroomImageConfig, 'sealroomImageConfig') }),
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
