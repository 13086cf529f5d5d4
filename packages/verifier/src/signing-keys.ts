// The verifier's token-signing keys: RS256, sealed at rest, rotated with overlap, each certified by the
// verifier's own PKI root for PKI tokens (x5c).
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { type Clock, CoreError, type Leases, type Sealer, generateRsaKeyPair, signRs256Jwt } from '@sealroom/core';
import { EKU, encodeName, issueCertificate, readSubject } from '@sealroom/formats';
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
  /**
   * Replicas sharing the store: a rotation is made only by the holder of the `verifier-signing-keys` lease,
   * so two replicas never both create the next key; the others sign with the newest key until they see it.
   * Without it (one process) the key ring rotates by itself.
   */
  readonly leases?: Leases;
}

/** The lease under which one replica at a time creates the next signing key. */
export const SIGNING_KEY_LEASE = 'verifier-signing-keys';
/** How long the rotating replica holds the lease: far longer than creating one RSA key takes. */
const SIGNING_KEY_LEASE_MS = 60_000;

interface ActiveKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly certificate: Buffer;
  readonly createTime: number;
}

export interface KeyRing {
  /** An RS256 JWT of `payload` (the verifier passes `Claims` checked by `buildClaims`) under the active key. */
  sign(payload: object, options?: { x5c?: boolean }): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  /** DER of the PKI root that certifies the signing keys. */
  pkiRoot(): Promise<Buffer>;
}

const PKI_ROOT_VALIDITY_MS = 20 * 365 * 24 * 3600_000;
/** How long a replica waits for the first signing key another replica is creating (50 × 100 ms). */
const FIRST_KEY_POLLS = 50;
const FIRST_KEY_POLL_MS = 100;

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
    const { privateKey, publicKey } = await generateRsaKeyPair();
    const kid = randomBytes(20).toString('hex');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const certificate = issueCertificate({
      serial: Buffer.concat([Buffer.of(1), randomBytes(15)]),
      issuer: readSubject(ca.certificate),
      subject: encodeName(`Sealroom attestation token signer ${kid.slice(0, 16)}`, 'Sealroom'),
      subjectPublicKey: publicKey,
      signingKey: ca.privateKey,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + options.rotationMs + options.tokenTtlMs + 3600_000),
      isCa: false,
      extendedKeyUsage: [EKU.tcgKpAikCertificate],
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

  const newestKey = async () => (await store.listSigningKeys()).at(-1);

  /** One look at the store at a time in this process: concurrent signs wait for it rather than rotate too. */
  let refreshing: Promise<ActiveKey> | undefined;
  const activeKey = (): Promise<ActiveKey> => {
    if (active && clock.now() - active.createTime < options.rotationMs) return Promise.resolve(active);
    refreshing ??= refreshActiveKey().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const refreshActiveKey = async (): Promise<ActiveKey> => {
    const now = clock.now();
    let newest = await newestKey();
    if (!newest || now - newest.createTime >= options.rotationMs) {
      if (!options.leases) {
        active = await createKey(now);
      } else if (await options.leases.acquire(SIGNING_KEY_LEASE, SIGNING_KEY_LEASE_MS)) {
        // Read again under the lease: the last holder may have rotated since the read above.
        newest = await newestKey();
        active = newest && now - newest.createTime < options.rotationMs ? open(newest) : await createKey(now);
      } else if (newest) {
        // Another replica is rotating: the key it replaces stays published, so signing with it is still sound.
        active = open(newest);
        return active;
      } else {
        active = open(await waitForFirstKey());
        return active;
      }
    } else {
      active = open(newest);
    }
    await store.deleteSigningKeysCreatedBefore(now - options.rotationMs - options.tokenTtlMs);
    return active;
  };

  /** The first start of several replicas at once: one creates the first key, the others wait to read it. */
  const waitForFirstKey = async (): Promise<SigningKeyRecord> => {
    for (let attempt = 0; attempt < FIRST_KEY_POLLS; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, FIRST_KEY_POLL_MS));
      const newest = await newestKey();
      if (newest) return newest;
    }
    throw new CoreError('ERR_UNAVAILABLE', 'The verifier has no signing key yet; retry shortly.');
  };

  return {
    async sign(payload, signOptions = {}) {
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
      return signRs256Jwt(header, payload, key.privateKey);
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
