// The mTLS ingress and the collaborator's `send` client: SNI per collaborator, client CAs, a token bound to the session.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMemoryLogger } from '@sealroom/core';
import { sendContribution } from '../cli/send.ts';
import { createContributionProcessor } from '../processor.ts';
import { type DevAttestation, instanceClaims, startDevAttestation } from '../scenario/dev-attestation.ts';
import { createMemoryStateStore } from '../sealed-state.ts';
import { type Tally, createTally } from '../tally.ts';
import { type CollaboratorKeys, createFakeKms, keysFor } from '../test-support.ts';
import { type Ingress, type IngressTenant, startIngress } from './ingress.ts';

const dir = mkdtempSync(join(tmpdir(), 'wordcount-ingress-'));
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A CA, a server certificate for `serverName` and a client certificate, all from that CA (openssl). */
function issueCerts(name: string, serverName: string) {
  const path = (f: string) => join(dir, `${name}-${f}`);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
    '-subj',
    `/CN=${name} root`,
    '-days',
    '2',
  ]);
  for (const [who, cn, ext] of [
    ['server', serverName, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth`],
    ['client', `${name} client`, 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(path(`${who}.ext`), `${ext}\n`);
    run([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      path(`${who}.key`),
      '-out',
      path(`${who}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    run([
      'x509',
      '-req',
      '-in',
      path(`${who}.csr`),
      '-CA',
      path('ca.crt'),
      '-CAkey',
      path('ca.key'),
      '-CAcreateserial',
      '-out',
      path(`${who}.crt`),
      '-days',
      '2',
      '-extfile',
      path(`${who}.ext`),
    ]);
  }
  const read = (f: string) => readFileSync(path(f), 'utf8');
  return {
    ca: read('ca.crt'),
    serverKey: read('server.key'),
    serverCert: read('server.crt'),
    clientKey: read('client.key'),
    clientCert: read('client.crt'),
  };
}

describe('mTLS ingress', () => {
  const kms = createFakeKms();
  const certs = { c1: issueCerts('c1', 'tee.collaborator1.com'), c2: issueCerts('c2', 'tee.collaborator2.com') };
  let attestation: DevAttestation;
  let ingress: Ingress;
  let tally: Tally;
  let nonceOverride: string | undefined;
  /** Another issuer that signs the ingress's tokens instead of the one the collaborators trust. */
  let rogueIssuer: DevAttestation | undefined;
  /** Takes collaborator c2's KMS "offline": its unwraps fail as an unreachable server's would. */
  let c2Down = false;

  before(async () => {
    attestation = await startDevAttestation();
    tally = createTally();
    const processor = createContributionProcessor({
      collaborators: new Map([
        ['c1', keysFor('c1', kms.wrapperFor('k1'))],
        ['c2', offlineWhen(() => c2Down, keysFor('c2', kms.wrapperFor('k2')))],
      ]),
      tally,
      store: createMemoryStateStore(),
      logger: createMemoryLogger(),
      flushDelayMs: 5,
    });
    const tenants: IngressTenant[] = [
      {
        collaborator: 'c1',
        serverName: 'tee.collaborator1.com',
        keyPem: certs.c1.serverKey,
        certPem: certs.c1.serverCert,
        clientCaPem: certs.c1.ca,
      },
      {
        collaborator: 'c2',
        serverName: 'tee.collaborator2.com',
        keyPem: certs.c2.serverKey,
        certPem: certs.c2.serverCert,
        clientCaPem: certs.c2.ca,
      },
    ];
    ingress = await startIngress({
      tenants,
      processor,
      logger: createMemoryLogger(),
      port: 0,
      host: '127.0.0.1',
      // Stands in for the teeserver: a custom token with the connection's audience and nonce.
      requestToken: (audience, nonce) =>
        (rogueIssuer ?? attestation).sign({
          ...instanceClaims((rogueIssuer ?? attestation).issuerUri, {
            operatorProject: 'operator',
            operatorProjectNumber: '1',
            serviceAccount: 'sa@operator.iam.gserviceaccount.com',
            imageReference: `registry/tee@${DIGEST}`,
            imageDigest: DIGEST,
          }),
          aud: audience,
          eat_nonce: [nonceOverride ?? nonce],
        }),
    });
  });
  after(async () => {
    await ingress.close();
    await attestation.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (who: 'c1' | 'c2', overrides: Partial<Parameters<typeof sendContribution>[0]> = {}) =>
    sendContribution({
      host: '127.0.0.1',
      port: ingress.port,
      serverName: who === 'c1' ? 'tee.collaborator1.com' : 'tee.collaborator2.com',
      ca: [certs[who].ca],
      cert: certs[who].clientCert,
      key: certs[who].clientKey,
      collaborator: who,
      wrapper: kms.wrapperFor(who === 'c1' ? 'k1' : 'k2'),
      word: 'alice',
      imageDigest: DIGEST,
      issuer: attestation.issuerUri,
      ...overrides,
    });

  it('counts a contribution sent after the client checked the token’s image digest and TLS binding', async () => {
    const outcome = await send('c1');
    assert.equal(outcome.status, 'counted');
    assert.equal(outcome.imageDigest, DIGEST);
    await send('c2');
    assert.deepEqual(tally.result(1).counts, { alice: 2 });
  });

  it('refuses before sending when the image digest is not the one the collaborator expects', async () => {
    const before = tally.snapshot().seen.length;
    await assert.rejects(send('c1', { imageDigest: `sha256:${'cd'.repeat(32)}` }), /image digest/);
    assert.equal(tally.snapshot().seen.length, before);
  });

  it('refuses before sending when the token is bound to another TLS session', async () => {
    nonceOverride = Buffer.alloc(32, 7).toString('base64');
    try {
      await assert.rejects(send('c1'), /not bound to this TLS session/);
    } finally {
      nonceOverride = undefined;
    }
  });

  it('refuses before sending, and before fetching its keys, a token from an issuer the collaborator does not trust', async () => {
    rogueIssuer = await startDevAttestation();
    const before = tally.snapshot().seen.length;
    try {
      await assert.rejects(send('c1'), /not issued by the verifier this client trusts/);
    } finally {
      await rogueIssuer.close();
      rogueIssuer = undefined;
    }
    assert.equal(tally.snapshot().seen.length, before);
  });

  it('rejects a client certificate from another collaborator’s CA for that server name', async () => {
    await assert.rejects(send('c1', { serverName: 'tee.collaborator2.com', ca: [certs.c2.ca] }));
  });

  it('refuses a contribution labelled as another collaborator on this collaborator’s connection', async () => {
    await assert.rejects(send('c1', { collaborator: 'c2', wrapper: kms.wrapperFor('k2') }), /answered 403/);
  });

  it('answers 503 (send it again) while the collaborator’s KMS is unreachable, and counts the word sent again after', async () => {
    const before = tally.snapshot().seen.length;
    c2Down = true;
    try {
      await assert.rejects(send('c2', { word: 'carol' }), /answered 503.*send it again/);
    } finally {
      c2Down = false;
    }
    assert.equal(tally.snapshot().seen.length, before, 'nothing counted');
    assert.equal((await send('c2', { word: 'carol' })).status, 'counted');
    assert.equal(tally.result(1).counts.carol, 1);
  });
});

function offlineWhen(down: () => boolean, keys: CollaboratorKeys): CollaboratorKeys {
  const unreachable = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  return {
    unwrapDataKey: async (wrapped) => {
      if (down()) throw unreachable();
      return keys.unwrapDataKey(wrapped);
    },
    decrypt: async (ciphertext, aad) => {
      if (down()) throw unreachable();
      return keys.decrypt(ciphertext, aad);
    },
  };
}
