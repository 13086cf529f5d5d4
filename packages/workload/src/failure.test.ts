// Failure classification on the errors the real clients raise (google-auth-library's STS exchange, the KMS
// client's REST transport) against a local stand-in answering as an STS and a KMS do, and on known shapes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';
import { CoreError } from '@sealroom/core';
import { OAuth2Client } from 'google-auth-library';
import { buildExternalAccountCredentials } from './credentials.ts';
import { decryptWithDataKey, encryptWithDataKey } from './envelope.ts';
import { httpFailure, WorkloadError } from './errors.ts';
import { type FailureClass, classifyFailure, isTransientFailure } from './failure.ts';
import { createExternalAccountClient, kmsClientOptions, toCallCredentialsError } from './google-clients.ts';

const dir = mkdtempSync(join(tmpdir(), 'workload-failure-'));
const tokenFile = join(dir, 'token');
let server: Server;
let base: string;
/** A port nothing listens on: bound, then closed. */
let closedPort: number;

/** Answers as an STS (`/sts/<mode>`) or a KMS (`/v1/projects/<mode>/…:decrypt`) would. */
const ANSWERS: Record<string, [number, unknown]> = {
  expired: [400, { error: 'invalid_grant', error_description: 'The subject token has expired (exp).' }],
  condition: [
    400,
    { error: 'unauthorized_client', error_description: 'The given credential is rejected by the attribute condition.' },
  ],
  signature: [400, { error: 'invalid_grant', error_description: "The subject token's signature does not verify." }],
  issuer: [
    400,
    {
      error: 'invalid_grant',
      error_description:
        "The token's issuer is unavailable: its discovery document or signing keys could not be retrieved.",
    },
  ],
  sts500: [500, { error: 'server_error', error_description: 'Internal error.' }],
  ok: [
    200,
    {
      access_token: 'federated',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    },
  ],
  badcipher: [
    400,
    { error: { code: 400, message: 'Decryption failed: the ciphertext is invalid.', status: 'INVALID_ARGUMENT' } },
  ],
  denied: [
    403,
    {
      error: {
        code: 403,
        message: "Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied (or it may not exist).",
        status: 'PERMISSION_DENIED',
      },
    },
  ],
  missing: [404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } }],
  down: [503, { error: { code: 503, message: 'The server’s storage is full.', status: 'UNAVAILABLE' } }],
  busy: [429, { error: { code: 429, message: 'Quota exceeded.', status: 'RESOURCE_EXHAUSTED' } }],
};

before(async () => {
  writeFileSync(tokenFile, 'header.payload.signature\n');
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const mode = /^\/(?:sts\/|v1\/projects\/)([a-z0-9]+)/.exec(req.url ?? '')?.[1] ?? '';
      const [status, body] = ANSWERS[mode] ?? [500, {}];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/v';
const stsClient = (tokenUrl: string, file = tokenFile) =>
  createExternalAccountClient(buildExternalAccountCredentials({ audience: AUDIENCE, tokenUrl, tokenFile: file }));

async function failureOf(promise: Promise<unknown>): Promise<FailureClass> {
  try {
    await promise;
  } catch (error) {
    return classifyFailure(error);
  }
  throw new Error('the call succeeded');
}

/** A KMS decrypt through the official client's REST transport, with its own retries off. */
async function kmsDecrypt(restUrl: string, project: string, authClient = bearer()): Promise<unknown> {
  const kms = new KeyManagementServiceClient(kmsClientOptions({ endpoint: { restUrl }, authClient }) as never);
  try {
    return await kms.decrypt(
      { name: `projects/${project}/locations/global/keyRings/k/cryptoKeys/c`, ciphertext: Buffer.from('x') },
      { retry: { retryCodes: [] } } as never,
    );
  } finally {
    await kms.close();
  }
}

function bearer(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'access', expiry_date: Date.now() + 3_600_000 });
  return client;
}

const T = (reason: FailureClass['reason']): FailureClass => ({ kind: 'transient', reason });
const P = (reason: FailureClass['reason']): FailureClass => ({ kind: 'permanent', reason });

describe('classifyFailure on the errors of the real clients', () => {
  it('an STS exchange: an expired token, an unreachable STS or issuer and a 5xx are transient; a refusal is permanent', async () => {
    assert.deepEqual(await failureOf(stsClient(`${base}/sts/expired`).getAccessToken()), T('token-expired'));
    assert.deepEqual(await failureOf(stsClient(`${base}/sts/issuer`).getAccessToken()), T('issuer-unreachable'));
    assert.deepEqual(await failureOf(stsClient(`${base}/sts/sts500`).getAccessToken()), T('unavailable'));
    assert.deepEqual(
      await failureOf(stsClient(`http://127.0.0.1:${closedPort}/v1/token`).getAccessToken()),
      T('unreachable'),
    );
    assert.deepEqual(
      await failureOf(stsClient(`${base}/sts/ok`, join(dir, 'not-written-yet')).getAccessToken()),
      T('token-unavailable'),
    );
    assert.deepEqual(await failureOf(stsClient(`${base}/sts/condition`).getAccessToken()), P('refused'));
    assert.deepEqual(await failureOf(stsClient(`${base}/sts/signature`).getAccessToken()), P('refused'));
  });

  it('a KMS decrypt: bad ciphertext, a wrong key, a denial or a missing key are permanent; 503, 429 and no answer are transient', async () => {
    assert.deepEqual(await failureOf(kmsDecrypt(base, 'badcipher')), P('bad-request'));
    assert.deepEqual(await failureOf(kmsDecrypt(base, 'denied')), P('refused'));
    assert.deepEqual(await failureOf(kmsDecrypt(base, 'missing')), P('not-found'));
    assert.deepEqual(await failureOf(kmsDecrypt(base, 'down')), T('unavailable'));
    assert.deepEqual(await failureOf(kmsDecrypt(base, 'busy')), T('overloaded'));
    assert.deepEqual(await failureOf(kmsDecrypt(`http://127.0.0.1:${closedPort}`, 'any')), T('unreachable'));
  });

  it('a KMS decrypt whose token exchange failed takes the exchange’s class, not the INVALID_ARGUMENT gax reports', async () => {
    assert.deepEqual(
      await failureOf(kmsDecrypt(base, 'badcipher', stsClient(`${base}/sts/expired`) as never)),
      T('token-expired'),
    );
    assert.deepEqual(
      await failureOf(kmsDecrypt(base, 'badcipher', stsClient(`${base}/sts/condition`) as never)),
      P('refused'),
    );
  });

  it('a ciphertext that does not authenticate locally is permanent', async () => {
    const key = Buffer.alloc(32, 1);
    const sealed = encryptWithDataKey(key, Buffer.from('alice'), Buffer.from('aad'));
    assert.deepEqual(
      await failureOf((async () => decryptWithDataKey(Buffer.alloc(32, 2), sealed, Buffer.from('aad')))()),
      P('bad-ciphertext'),
    );
  });
});

describe('classifyFailure on known shapes', () => {
  it('reads gRPC statuses, HTTP statuses, errno codes, SDK and Sealroom errors, from the root cause outwards', () => {
    const grpcError = (code: number) => Object.assign(new Error('x'), { code, details: 'x', metadata: {} });
    const cases: [string, unknown, FailureClass][] = [
      ['gRPC UNAVAILABLE', grpcError(14), T('unavailable')],
      ['gRPC DEADLINE_EXCEEDED (gax gave up retrying)', grpcError(4), T('deadline')],
      ['gRPC INTERNAL', grpcError(13), T('server-error')],
      ['gRPC UNAUTHENTICATED', grpcError(16), T('token-expired')],
      ['gRPC PERMISSION_DENIED', grpcError(7), P('refused')],
      ['gRPC INVALID_ARGUMENT', grpcError(3), P('bad-request')],
      ['gRPC FAILED_PRECONDITION (key disabled)', grpcError(9), P('bad-request')],
      ['gRPC UNKNOWN', grpcError(2), P('unrecognised')],
      ['ECONNRESET', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), T('unreachable')],
      [
        'fetch failed',
        new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) }),
        T('unreachable'),
      ],
      ['HTTP 502 from fetch', Object.assign(new Error('bad gateway'), { status: 502 }), T('server-error')],
      ['HTTP 503 as an SDK error', httpFailure(503, 'x'), T('unavailable')],
      ['HTTP 401 as an SDK error', httpFailure(401, 'x'), T('token-expired')],
      ['HTTP 403 as an SDK error', httpFailure(403, 'x'), P('refused')],
      ['HTTP 404 as an SDK error', httpFailure(404, 'x'), P('not-found')],
      ['a teeserver that does not answer', new WorkloadError('ERR_WORKLOAD_TEESERVER', 'x'), T('unreachable')],
      ['a refused custom token', new WorkloadError('ERR_WORKLOAD_TOKEN_REQUEST_REFUSED', 'x'), P('bad-request')],
      ['an envelope that does not open', new WorkloadError('ERR_WORKLOAD_ENVELOPE_INVALID', 'x'), P('bad-ciphertext')],
      ['a retryable Sealroom error', new CoreError('ERR_UNAVAILABLE', 'x'), T('unavailable')],
      [
        'a wrapper around an unreachable KMS',
        new CoreError('ERR_INVALID_ARGUMENT', 'decrypt failed', { cause: grpcError(14) }),
        T('unavailable'),
      ],
      [
        'a wrapper around nothing known',
        new CoreError('ERR_INVALID_ARGUMENT', 'x', { cause: new Error('?') }),
        P('unrecognised'),
      ],
      ['a TypeError', new TypeError('x is not a function'), P('unrecognised')],
      ['a string', 'ECONNREFUSED', P('unrecognised')],
      ['undefined', undefined, P('unrecognised')],
    ];
    for (const [what, error, expected] of cases) assert.deepEqual(classifyFailure(error), expected, what);
    assert.equal(isTransientFailure(grpcError(14)), true);
    assert.equal(isTransientFailure(grpcError(7)), false);
  });

  it('a failed token for a gRPC call ends it with UNAVAILABLE when transient, PERMISSION_DENIED when not', () => {
    const expired = Object.assign(new Error('Error code invalid_grant: The subject token has expired (exp).'), {
      code: 400,
    });
    const refused = new Error(
      'Error code unauthorized_client: The given credential is rejected by the attribute condition.',
    );
    assert.equal(toCallCredentialsError(expired).code, grpc.status.UNAVAILABLE);
    assert.equal(
      toCallCredentialsError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).code,
      grpc.status.UNAVAILABLE,
    );
    assert.equal(toCallCredentialsError(refused).code, grpc.status.PERMISSION_DENIED);
    assert.equal(toCallCredentialsError(refused).message, refused.message);
  });
});
