// The verifier's token-signing keys: RS256, sealed at rest, rotated with overlap, each certified by the
// verifier's own PKI root for PKI tokens (x5c).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { encodeName, issueCertificate, parseDer, readChildren } from '@sealroom/attest';
import type { Clock, Sealer } from '@sealroom/core';
import { exportJWK } from 'jose';
import type { JWK } from 'jose';
import type { SigningKeyRecord, VerifierStore } from './store.ts';

export interface KeyRingOptions {
  readonly store: VerifierStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
  /** A key signs for this long, then a new one takes over. */
  readonly rotationMs: number;
  /** Lifetime of the tokens: a retired key stays published this long after it stops signing. */
  readonly tokenTtlMs: number;
}

interface ActiveKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly certificate: Buffer;
  readonly createTime: number;
}

export interface KeyRing {
  sign(claims: Record<string, unknown>, options?: { x5c?: boolean }): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  /** DER of the PKI root that certifies the signing keys. */
  pkiRoot(): Promise<Buffer>;
}

const PKI_ROOT_VALIDITY_MS = 20 * 365 * 24 * 3600_000;

export function createKeyRing(options: KeyRingOptions): KeyRing {
  const { store, sealer, clock } = options;
  let active: ActiveKey | undefined;
  let root: { certificate: Buffer; privateKey: KeyObject } | undefined;

  const loadRoot = async () => {
    if (root) return root;
    const existing = await store.getSecret('pki-root-key');
    if (existing === undefined) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const name = encodeName('Sealroom attestation verifier PKI root', 'Sealroom');
      const now = clock.now();
      const certificate = issueCertificate({
        serial: Buffer.concat([Buffer.of(1), randomBytes(15)]),
        issuer: name,
        subject: name,
        subjectPublicKey: pair.publicKey,
        signingKey: pair.privateKey,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + PKI_ROOT_VALIDITY_MS),
        isCa: true,
      });
      const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
      // Certificate first: a replica that sees the key also finds the certificate.
      await store.putSecretIfAbsent('pki-root-cert', certificate);
      await store.putSecretIfAbsent('pki-root-key', sealer.seal(pkcs8, 'verifier/pki-root-key'));
    }
    const certificate = Buffer.from((await store.getSecret('pki-root-cert'))!);
    const sealed = (await store.getSecret('pki-root-key'))!;
    const privateKey = createPrivateKey({
      key: sealer.open(sealed, 'verifier/pki-root-key'),
      format: 'der',
      type: 'pkcs8',
    });
    root = { certificate, privateKey };
    return root;
  };

  const open = (record: SigningKeyRecord): ActiveKey => ({
    kid: record.kid,
    privateKey: createPrivateKey({
      key: sealer.open(record.sealedPrivateKey, `verifier/signing-key/${record.kid}`),
      format: 'der',
      type: 'pkcs8',
    }),
    certificate: Buffer.from(record.certificate),
    createTime: record.createTime,
  });

  const createKey = async (now: number): Promise<ActiveKey> => {
    const ca = await loadRoot();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomBytes(20).toString('hex');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const certificate = issueCertificate({
      serial: Buffer.concat([Buffer.of(1), randomBytes(15)]),
      issuer: subjectOf(ca.certificate),
      subject: encodeName(`Sealroom attestation token signer ${kid.slice(0, 16)}`, 'Sealroom'),
      subjectPublicKey: publicKey,
      signingKey: ca.privateKey,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + options.rotationMs + options.tokenTtlMs + 3600_000),
      isCa: false,
    });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    await store.insertSigningKey({
      kid,
      sealedPrivateKey: sealer.seal(pkcs8, `verifier/signing-key/${kid}`),
      publicJwk: JSON.stringify(jwk),
      certificate,
      createTime: now,
    });
    return { kid, privateKey, certificate, createTime: now };
  };

  const activeKey = async (): Promise<ActiveKey> => {
    const now = clock.now();
    if (active && now - active.createTime < options.rotationMs) return active;
    const newest = (await store.listSigningKeys()).at(-1);
    active = newest && now - newest.createTime < options.rotationMs ? open(newest) : await createKey(now);
    await store.deleteSigningKeysCreatedBefore(now - options.rotationMs - options.tokenTtlMs);
    return active;
  };

  return {
    async sign(claims, signOptions = {}) {
      const key = await activeKey();
      const header: { alg: 'RS256'; kid: string; typ: 'JWT'; x5c?: string[] } = {
        alg: 'RS256',
        kid: key.kid,
        typ: 'JWT',
      };
      if (signOptions.x5c) {
        const ca = await loadRoot();
        header.x5c = [key.certificate.toString('base64'), ca.certificate.toString('base64')];
      }
      return signCompactJwt(header, claims, key.privateKey);
    },
    async jwks() {
      await activeKey();
      const cutoff = clock.now() - options.rotationMs - options.tokenTtlMs;
      const keys = (await store.listSigningKeys()).filter((k) => k.createTime >= cutoff);
      return { keys: keys.map((k) => JSON.parse(k.publicJwk) as JWK) };
    },
    async pkiRoot() {
      return (await loadRoot()).certificate;
    },
  };
}

/**
 * RS256 compact JWS (RFC 7515 §7.1) signed on the calling thread: one RSA signature and two base64url
 * encodings, without a thread-pool hop per token (the verifier's throughput is bounded by this call).
 */
function signCompactJwt(header: object, claims: object, privateKey: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** The subject Name (DER) of a certificate: the issuer of what it signs. */
function subjectOf(certificate: Uint8Array): Uint8Array {
  const [tbs] = readChildren(parseDer(certificate));
  return readChildren(tbs!)[5]!.raw;
}
