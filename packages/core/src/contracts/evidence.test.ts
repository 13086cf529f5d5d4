// The evidence contract: what the launcher encodes is what the verifier parses, and malformed bodies are refused precisely.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ContractError } from './errors.ts';
import {
  type TpmEvidenceBytes,
  type VerifyConfidentialSpaceRequest,
  encodeVerifyConfidentialSpaceRequest,
  fromSignedEntitiesJson,
  fromSevSnpAttestationJson,
  fromTdCcelJson,
  fromTpmAttestationJson,
  parseVerifyAttestationRequest,
  parseVerifyConfidentialSpaceRequest,
  toSevSnpAttestationJson,
  toTdCcelJson,
  toTpmAttestationJson,
} from './evidence.ts';
import { VERIFY_ATTESTATION_SCHEMA, VERIFY_CONFIDENTIAL_SPACE_SCHEMA } from './evidence.schema.ts';
import { SCHEMA_KEYWORDS } from './json-schema.ts';

const evidence: TpmEvidenceBytes = {
  quotes: [11, 12].map((hashAlgo) => ({
    hashAlgo,
    pcrValues: new Map([0, 13].map((index) => [index, randomBytes(hashAlgo === 11 ? 32 : 48)])),
    rawQuote: randomBytes(145),
    rawSignature: randomBytes(262),
  })),
  akCert: randomBytes(900),
  certChain: [randomBytes(700)],
  tcgEventLog: randomBytes(2000),
  canonicalEventLog: randomBytes(300),
};

function request(): VerifyConfidentialSpaceRequest {
  return {
    challenge: 'projects/p/locations/us-central1/challenges/c1',
    gcpCredentials: { serviceAccountIdTokens: ['a.b.c'] },
    tpmAttestation: toTpmAttestationJson(evidence),
    signedEntities: [{ containerImageSignatures: [{ payload: 'cGF5bG9hZA==', signature: 'c2ln' }] }],
    sealroomImageConfig: 'e30=',
    options: {
      audience: 'https://sts.googleapis.com',
      nonce: ['0123456789'],
      tokenProfile: 'TOKEN_PROFILE_DEFAULT_EAT',
      signatureType: 'SIGNATURE_TYPE_OIDC',
    },
  };
}

function refusal(body: unknown, code: string, path: string, message?: RegExp): void {
  assert.throws(
    () => parseVerifyConfidentialSpaceRequest(body),
    (error: unknown) => {
      assert.ok(error instanceof ContractError, String(error));
      assert.equal(error.code, code);
      assert.equal(error.path, path);
      assert.equal(error.httpStatus, 400);
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe('the evidence schemas', () => {
  it('use only keywords the validator understands', () => {
    const seen = new Set<string>();
    const walk = (schema: unknown): void => {
      if (schema === null || typeof schema !== 'object') return;
      for (const [key, value] of Object.entries(schema)) {
        if (key === 'properties') for (const member of Object.values(value as object)) walk(member);
        else if (key !== 'default' && key !== 'enum') {
          seen.add(key);
          if (Array.isArray(value)) for (const branch of value) walk(branch);
          else walk(value);
        } else seen.add(key);
      }
    };
    walk(VERIFY_CONFIDENTIAL_SPACE_SCHEMA);
    walk(VERIFY_ATTESTATION_SCHEMA);
    assert.deepEqual(
      [...seen].filter((k) => !SCHEMA_KEYWORDS.includes(k)),
      [],
    );
  });
});

describe('verifyConfidentialSpace evidence', () => {
  it('round-trips: the verifier parses exactly what the launcher encodes', () => {
    const sent = request();
    const parsed = parseVerifyConfidentialSpaceRequest(JSON.parse(encodeVerifyConfidentialSpaceRequest(sent)));
    assert.deepEqual(parsed, sent);
    const tpm = parsed.tpmAttestation;
    assert.ok(tpm);
    const decoded = fromTpmAttestationJson(tpm);
    assert.deepEqual(
      decoded.quotes.map((q) => [q.hashAlgo, [...q.pcrValues.keys()]]),
      [
        [11, [0, 13]],
        [12, [0, 13]],
      ],
    );
    assert.deepEqual(
      Buffer.from(decoded.quotes[1]?.rawSignature ?? []),
      Buffer.from(evidence.quotes[1]?.rawSignature ?? []),
    );
    assert.deepEqual(Buffer.from(decoded.akCert), Buffer.from(evidence.akCert));
    assert.deepEqual(Buffer.from(decoded.canonicalEventLog ?? []), Buffer.from(evidence.canonicalEventLog ?? []));
    assert.deepEqual(fromSignedEntitiesJson(parsed.signedEntities)[0]?.payload.toString(), 'payload');
  });

  it('reads absent lists as empty ones and hash algorithms by name', () => {
    const parsed = parseVerifyConfidentialSpaceRequest({ tpmAttestation: { quotes: [{ hashAlgo: 'SHA384' }] } });
    assert.deepEqual(parsed.signedEntities, []);
    assert.deepEqual(parsed.tpmAttestation?.certChain, []);
    assert.deepEqual(parsed.tpmAttestation?.quotes[0], {
      hashAlgo: 'SHA384',
      pcrValues: {},
      rawQuote: '',
      rawSignature: '',
    });
    assert.equal(parseVerifyConfidentialSpaceRequest(undefined).options, undefined);
    assert.equal(
      fromTpmAttestationJson(parsed.tpmAttestation ?? { quotes: [], certChain: [] }).quotes[0]?.hashAlgo,
      12,
    );
  });

  it('takes the AK certificate from gceShieldedIdentity when the attestation has none', () => {
    const { akCert: _, ...tpm } = toTpmAttestationJson(evidence);
    const decoded = fromTpmAttestationJson(tpm, { akCert: 'AQID', akCertChain: ['BAU='] });
    assert.deepEqual([...decoded.akCert], [1, 2, 3]);
    assert.equal(decoded.certChain.length, 2);
  });

  it('refuses an unknown field in the words Google uses, naming it', () => {
    refusal({ ...request(), surprise: 1 }, 'ERR_EVIDENCE_UNKNOWN_FIELD', 'surprise', /Unknown name "surprise"/);
    refusal(
      { ...request(), options: { nonce: [], ttl: 3 } },
      'ERR_EVIDENCE_UNKNOWN_FIELD',
      'options.ttl',
      /Unknown name "options\.ttl": Cannot find field/,
    );
  });

  it('names a missing required field', () => {
    refusal(
      { tpmAttestation: { quotes: [{ rawQuote: '' }] } },
      'ERR_EVIDENCE_MISSING_FIELD',
      'tpmAttestation.quotes[0].hashAlgo',
    );
    refusal(
      { signedEntities: [{ containerImageSignatures: [{ payload: 'AA==' }] }] },
      'ERR_EVIDENCE_MISSING_FIELD',
      'signedEntities[0].containerImageSignatures[0].signature',
    );
  });

  it('names a field of the wrong type, size or value', () => {
    refusal(
      { tpmAttestation: { quotes: [{ hashAlgo: 'MD5' }] } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'tpmAttestation.quotes[0].hashAlgo',
    );
    refusal(
      { tpmAttestation: { quotes: [{ hashAlgo: 11, pcrValues: { 100: 'AA==' } }] } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'tpmAttestation.quotes[0].pcrValues.100',
    );
    refusal(
      { tpmAttestation: { quotes: Array(9).fill({ hashAlgo: 11 }) } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'tpmAttestation.quotes',
    );
    refusal(
      { gcpCredentials: { serviceAccountIdTokens: ['x'.repeat(16 * 1024 + 1)] } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'gcpCredentials.serviceAccountIdTokens[0]',
    );
    refusal(
      { options: { nonce: 'one' } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'options.nonce',
      /Invalid value at 'options\.nonce'/,
    );
    refusal(
      { tpmAttestation: { akCert: 'x'.repeat(8 * 1024 * 1024 + 1) } },
      'ERR_EVIDENCE_INVALID_FIELD',
      'tpmAttestation.akCert',
    );
  });

  it('refuses a body that is not an object', () => {
    for (const body of [[], 'evidence', 7]) refusal(body, 'ERR_EVIDENCE_MALFORMED', '');
  });

  it('refuses to encode a request the verifier would refuse', () => {
    const broken = { ...request(), options: { nonce: [], signatureType: 3 } };
    assert.throws(() => encodeVerifyConfidentialSpaceRequest(broken as unknown as VerifyConfidentialSpaceRequest), {
      code: 'ERR_EVIDENCE_INVALID_FIELD',
    });
  });

  it('reads TDX and SEV-SNP evidence by their shapes, and refuses unknown members of them', () => {
    assert.deepEqual(parseVerifyConfidentialSpaceRequest({ tdCcel: { tdQuote: 'AAAA' } }).tdCcel, { tdQuote: 'AAAA' });
    assert.deepEqual(parseVerifyConfidentialSpaceRequest({ sevSnpAttestation: { report: 'AA==' } }).sevSnpAttestation, {
      report: 'AA==',
    });
    refusal({ sevSnpAttestation: {} }, 'ERR_EVIDENCE_MISSING_FIELD', 'sevSnpAttestation.report');
    refusal({ tdCcel: { tdQuote: 'AA==', rtmr: 'AA==' } }, 'ERR_EVIDENCE_UNKNOWN_FIELD', 'tdCcel.rtmr');
    const bytes = fromTdCcelJson({ tdQuote: 'AQID', canonicalEventLog: 'BA==' });
    assert.deepEqual(bytes, { tdQuote: Buffer.of(1, 2, 3), canonicalEventLog: Buffer.of(4) });
    assert.deepEqual(fromTdCcelJson(toTdCcelJson(bytes)), bytes);
    const snp = { report: Buffer.of(9), auxBlob: Buffer.alloc(0) };
    assert.deepEqual(fromSevSnpAttestationJson(toSevSnpAttestationJson(snp)), snp);
  });
});

describe('verifyAttestation evidence (the older shape)', () => {
  it('parses the older body with its defaults', () => {
    const parsed = parseVerifyAttestationRequest({
      tpmAttestation: toTpmAttestationJson(evidence),
      confidentialSpaceInfo: {},
      tokenOptions: { audience: 'https://rp.example' },
    });
    assert.deepEqual(parsed.confidentialSpaceInfo, { signedEntities: [] });
    assert.deepEqual(parsed.tokenOptions, { audience: 'https://rp.example', nonce: [] });
  });

  it('refuses fields of the newer shape', () => {
    assert.throws(() => parseVerifyAttestationRequest({ signedEntities: [] }), { code: 'ERR_EVIDENCE_UNKNOWN_FIELD' });
  });
});
