// external_account credentials built by the SDK, used by the unmodified google-auth-library against a local STS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildExternalAccountCredentials, impersonationUrlFor, tokenUrlFor } from './credentials.ts';
import { createExternalAccountClient, kmsClientOptions, pubsubClientOptions } from './google-clients.ts';

const AUDIENCE = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov';
const dir = mkdtempSync(join(tmpdir(), 'workload-creds-'));
const tokenFile = join(dir, 'attestation_verifier_claims_token');
const exchanges: URLSearchParams[] = [];
let sts: Server;
let base: string;

before(async () => {
  writeFileSync(tokenFile, 'header.payload.signature\n');
  sts = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      exchanges.push(new URLSearchParams(body));
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          access_token: `federated-${exchanges.length}`,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 3600,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => sts.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('buildExternalAccountCredentials', () => {
  it('writes the JSON Confidential Space samples use, pointed at the collaborator’s STS', () => {
    const credentials = buildExternalAccountCredentials({
      audience: AUDIENCE,
      tokenUrl: tokenUrlFor('https://collab1.example/'),
      impersonationUrl: impersonationUrlFor('https://collab1.example', 'sa@c1.iam.gserviceaccount.com'),
      tokenFile,
    });
    assert.deepEqual(credentials, {
      type: 'external_account',
      audience: AUDIENCE,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://collab1.example/v1/token',
      token_info_url: 'https://collab1.example/v1/introspect',
      credential_source: { file: tokenFile },
      service_account_impersonation_url:
        'https://collab1.example/v1/projects/-/serviceAccounts/sa@c1.iam.gserviceaccount.com:generateAccessToken',
    });
  });

  it('refuses an audience that is not a provider name and a token URL that is not http(s)', () => {
    assert.throws(() => buildExternalAccountCredentials({ audience: 'aud', tokenUrl: base }), {
      code: 'ERR_WORKLOAD_BAD_CONFIG',
    });
    assert.throws(() => buildExternalAccountCredentials({ audience: AUDIENCE, tokenUrl: 'file:///etc/passwd' }), {
      code: 'ERR_WORKLOAD_BAD_CONFIG',
    });
    assert.throws(
      () => buildExternalAccountCredentials({ audience: AUDIENCE, tokenUrl: base, impersonationUrl: `${base}/x` }),
      /generateAccessToken/,
    );
  });
});

describe('createExternalAccountClient', () => {
  it('exchanges the token file at the STS once and reuses the federated token until near expiry', async () => {
    const client = createExternalAccountClient(
      buildExternalAccountCredentials({ audience: AUDIENCE, tokenUrl: tokenUrlFor(base), tokenFile }),
    );
    const first = await client.getAccessToken();
    const second = await client.getAccessToken();
    assert.equal(first.token, 'federated-1');
    assert.equal(second.token, 'federated-1');
    assert.equal(exchanges.length, 1);
    assert.equal(exchanges[0]?.get('audience'), AUDIENCE);
    assert.equal(exchanges[0]?.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
    assert.match(exchanges[0]?.get('subject_token') ?? '', /^header\.payload\.signature\s*$/);
  });
});

describe('client options', () => {
  const authClient = createExternalAccountClient(
    buildExternalAccountCredentials({ audience: AUDIENCE, tokenUrl: 'http://127.0.0.1:1/v1/token', tokenFile }),
  );

  it('give KMS the REST fallback with host and port apart, so the port is not replaced by 443', () => {
    const options = kmsClientOptions({ endpoint: { restUrl: 'http://127.0.0.1:8080' }, authClient });
    assert.equal(options.fallback, true);
    assert.equal(options.protocol, 'http');
    assert.equal(options.apiEndpoint, '127.0.0.1');
    assert.equal(options.port, 8080);
  });

  it('give gRPC clients TLS credentials carrying the bearer token when a CA is given', () => {
    const endpoint = {
      restUrl: 'http://127.0.0.1:8080',
      grpcHost: '127.0.0.1',
      grpcPort: 8443,
      caPem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      tlsServerName: 'localhost',
    };
    const kms = kmsClientOptions({ endpoint, authClient, transport: 'grpc' });
    assert.equal(kms.port, 8443);
    assert.ok(kms.sslCreds);
    const pubsub = pubsubClientOptions({ endpoint, authClient, projectId: 'operator' });
    assert.equal(pubsub.apiEndpoint, '127.0.0.1:8443');
    assert.equal(pubsub.emulatorMode, false);
    assert.equal(pubsub['grpc.ssl_target_name_override'], 'localhost');
    assert.throws(() => pubsubClientOptions({ endpoint: { restUrl: 'http://x' }, authClient }), /grpcHost/);
  });
});
