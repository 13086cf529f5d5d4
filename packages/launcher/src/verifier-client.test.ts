// The verifier client against a stand-in verifier on 127.0.0.1: request shapes, options, and error mapping.
import assert from 'node:assert/strict';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { PlatformEvidence } from '@sealroom/attest';
import { LauncherError } from './errors.ts';
import { createVerifierTokenSource, regionOfZone } from './verifier-client.ts';

// biome-ignore lint/suspicious/noExplicitAny: request bodies are read as loose JSON in tests
type Json = any;

interface Seen {
  path: string;
  authorization: string | undefined;
  body: Json;
}

const evidence: PlatformEvidence = {
  kind: 'tpm',
  tpm: {
    quotes: [
      {
        hashAlgo: 11,
        pcrValues: new Map([[13, Buffer.alloc(32, 13)]]),
        rawQuote: Buffer.from('q'),
        rawSignature: Buffer.from('s'),
      },
    ],
    akCert: Buffer.from('cert'),
    certChain: [],
    tcgEventLog: Buffer.from('tcg'),
    canonicalEventLog: Buffer.from('cel'),
  },
} as unknown as PlatformEvidence;

describe('the verifier client', () => {
  const seen: Seen[] = [];
  let mode: 'ok' | 'refuse' | 'fail' = 'ok';
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Json;
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
    res.setHeader('content-type', 'application/json');
    if (req.url?.endsWith('/challenges')) {
      res.end(
        JSON.stringify({
          name: 'projects/p1/locations/us-central1/challenges/c1',
          tpmNonce: Buffer.from('nonce-bytes').toString('base64'),
        }),
      );
    } else if (mode === 'refuse') {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'audience not allowed' } }));
    } else if (mode === 'fail') {
      res.statusCode = 503;
      res.end(JSON.stringify({ error: { code: 503, status: 'UNAVAILABLE', message: 'busy' } }));
    } else {
      res.end(JSON.stringify({ attestationToken: 'header.payload.sig', partialErrors: [] }));
    }
  });
  let baseUrl = '';
  const nonces: Uint8Array[] = [];
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const source = () =>
    createVerifierTokenSource({
      baseUrl,
      projectId: 'p1',
      region: regionOfZone('us-central1-a'),
      accessToken: async () => 'sa-access-token',
      idTokens: async (aud) => [`id-token-for:${aud}`],
      platform: {
        attest: async (nonce) => {
          nonces.push(nonce);
          return evidence;
        },
      },
      imageSignatures: async () => [{ payload: Buffer.from('payload'), signature: Buffer.from('sig') }],
      defaultAudience: 'https://sts.googleapis.com',
    });

  test('the default token: a challenge, evidence bound to its nonce, ID tokens for the challenge, OIDC to STS', async () => {
    seen.length = 0;
    assert.equal(await source().fetchDefaultToken(), 'header.payload.sig');
    assert.equal(seen[0]?.path, '/v1/projects/p1/locations/us-central1/challenges');
    assert.equal(seen[0]?.authorization, 'Bearer sa-access-token');
    assert.equal(Buffer.from(nonces.at(-1) ?? []).toString(), 'nonce-bytes');
    assert.equal(seen[1]?.path, '/v1/projects/p1/locations/us-central1/challenges/c1:verifyConfidentialSpace');
    const body = seen[1]!.body;
    assert.equal(body.challenge, 'projects/p1/locations/us-central1/challenges/c1');
    assert.deepEqual(body.gcpCredentials, {
      serviceAccountIdTokens: ['id-token-for:projects/p1/locations/us-central1/challenges/c1'],
    });
    assert.deepEqual(body.options, {
      audience: 'https://sts.googleapis.com',
      nonce: [],
      tokenProfile: 'TOKEN_PROFILE_DEFAULT_EAT',
      signatureType: 'SIGNATURE_TYPE_OIDC',
    });
    assert.deepEqual(body.signedEntities, [
      {
        containerImageSignatures: [
          { payload: Buffer.from('payload').toString('base64'), signature: Buffer.from('sig').toString('base64') },
        ],
      },
    ]);
    assert.equal(body.tpmAttestation.quotes[0].hashAlgo, 11);
    assert.equal(body.tpmAttestation.quotes[0].pcrValues['13'], Buffer.alloc(32, 13).toString('base64'));
    assert.equal(body.tpmAttestation.canonicalEventLog, Buffer.from('cel').toString('base64'));
  });

  test('a custom token carries the audience, nonces and signature type', async () => {
    seen.length = 0;
    await source().fetchCustomToken({ audience: 'https://aud', nonces: ['n1n1n1n1n1'], tokenType: 'PKI' });
    assert.deepEqual(seen[1]!.body.options, {
      audience: 'https://aud',
      nonce: ['n1n1n1n1n1'],
      tokenProfile: 'TOKEN_PROFILE_DEFAULT_EAT',
      signatureType: 'SIGNATURE_TYPE_PKI',
    });
  });

  test('a refusal is ERR_LAUNCHER_VERIFIER_REFUSED (400 on the socket); an outage is retryable UNAVAILABLE', async () => {
    mode = 'refuse';
    await assert.rejects(source().fetchDefaultToken(), (e: unknown) => {
      assert.ok(e instanceof LauncherError);
      assert.equal(e.code, 'ERR_LAUNCHER_VERIFIER_REFUSED');
      assert.equal(e.status, 'INVALID_ARGUMENT');
      assert.match(e.message, /audience not allowed/);
      return true;
    });
    mode = 'fail';
    await assert.rejects(source().fetchDefaultToken(), (e: unknown) => e instanceof LauncherError && e.retryable);
    mode = 'ok';
    const down = createVerifierTokenSource({
      baseUrl: 'http://127.0.0.1:1',
      projectId: 'p1',
      region: 'r',
      accessToken: async () => 't',
      idTokens: async () => [],
      platform: { attest: async () => evidence },
      defaultAudience: 'a',
    });
    await assert.rejects(down.fetchDefaultToken(), /unreachable/);
  });

  test('the region is the zone without its last part', () => {
    assert.equal(regionOfZone('europe-west4-b'), 'europe-west4');
    assert.equal(regionOfZone('local'), 'local');
  });
});
