// Host enrolment: administrators issue single-use tokens for a pool; a host redeems one with a CSR for its certificate.
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Caller, CoreError, toRfc3339 } from '@sealroom/core';
import { createDeploymentAdminCheck } from '@sealroom/iam';
import { type ServiceContext, issueDeploymentClientCertificate, loadOrCreateDeploymentTls } from '@sealroom/transport';
import { ComputeError } from '../errors.ts';
import { parseCertificateRequest } from './csr.ts';
import type { HostRecord, HostStore } from './store.ts';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const MAX_TOKEN_TTL_SECONDS = 7 * 86400;
const HOST_CERT_DAYS = 397;
const TOKEN_PREFIX = 'srh_';
const POOL_PATTERN = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const HOST_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface IssuedEnrolmentToken {
  readonly token: string;
  readonly pool: string;
  readonly expireTime: string;
}

export interface JoinedHost {
  readonly name: string;
  readonly pool: string;
  /** PEM of the host's client certificate. */
  readonly certificate: string;
  /** PEM of the deployment CA: the host trusts only it on the channel. */
  readonly caCertificate: string;
  readonly universeDomain: string;
}

export interface HostListing {
  readonly name: string;
  readonly pool: string;
  readonly connected: boolean;
  readonly lastSeen: string;
  readonly joinTime: string;
  readonly instances: readonly string[];
}

export interface HostEnrolment {
  createToken(caller: Caller | undefined, pool: string, ttlSeconds: number | undefined): Promise<IssuedEnrolmentToken>;
  join(tokenText: string, csr: Uint8Array): Promise<JoinedHost>;
  requireAdmin(caller: Caller | undefined): Promise<void>;
}

/** Tokens are stored as their SHA-256: a database read gives no token that still works. */
export function hashEnrolmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function certificateFingerprint(pemOrDer: string | Uint8Array): string {
  const der = typeof pemOrDer === 'string' ? new X509Certificate(pemOrDer).raw : pemOrDer;
  return createHash('sha256').update(der).digest('hex');
}

export function createHostEnrolment(
  context: ServiceContext,
  store: HostStore,
  onJoin: (host: HostRecord) => void,
): HostEnrolment {
  const isAdmin = createDeploymentAdminCheck(context.db);
  const tlsDir = join(context.settings.stateDir, 'tls');
  const audit = context.audit as Partial<{ recordDeployment(entry: Record<string, unknown>): Promise<void> }>;
  const requireAdmin = async (caller: Caller | undefined) => {
    if (!(await isAdmin(caller)))
      throw new CoreError('ERR_PERMISSION_DENIED', 'Only deployment administrators can manage hosts.');
  };
  const record = async (
    caller: Caller | undefined,
    method: string,
    resource: string,
    details: Record<string, unknown>,
  ) =>
    audit.recordDeployment?.({
      method: `sealroom.compute.hosts.${method}`,
      resource,
      caller,
      outcome: 'ALLOWED',
      details,
    });
  return {
    requireAdmin,
    async createToken(caller, pool, ttlSeconds) {
      await requireAdmin(caller);
      if (!POOL_PATTERN.test(pool))
        throw new ComputeError(
          'ERR_COMPUTE_BAD_REQUEST',
          `Invalid pool '${pool.slice(0, 64)}': a pool is a zone name.`,
        );
      const ttl = ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS)
        throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', `The ttl must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds.`);
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const now = context.clock.now();
      const hash = hashEnrolmentToken(token);
      await store.insertToken({
        hash,
        pool,
        createTime: now,
        expireTime: now + ttl * 1000,
        createdBy: caller?.principal ?? '',
      });
      // The audit names the token by a prefix of its digest, never by its text.
      await record(caller, 'createToken', `pools/${pool}`, { tokenDigest: hash.slice(0, 16), ttlSeconds: ttl });
      return { token, pool, expireTime: toRfc3339(now + ttl * 1000) };
    },
    async join(tokenText, csr) {
      const request = parseCertificateRequest(csr);
      if (!HOST_NAME.test(request.commonName))
        throw new ComputeError('ERR_COMPUTE_HOST_CSR', `Invalid host name '${request.commonName.slice(0, 64)}'.`);
      const now = context.clock.now();
      const redeemed =
        tokenText.startsWith(TOKEN_PREFIX) && tokenText.length < 128
          ? await store.redeemToken(hashEnrolmentToken(tokenText), request.commonName, now)
          : undefined;
      if (!redeemed)
        throw new ComputeError(
          'ERR_COMPUTE_HOST_TOKEN',
          'The enrolment token is unknown, already used or expired; ask an administrator for a new one.',
        );
      const existing = await store.getHost(request.commonName);
      if (existing && existing.pool !== redeemed.pool)
        throw new ComputeError(
          'ERR_COMPUTE_HOST_NAME',
          `A host named '${request.commonName}' already serves another pool; join under another name.`,
        );
      const tls = await loadOrCreateDeploymentTls(tlsDir, context.sealer, []);
      const certificate = issueDeploymentClientCertificate(tlsDir, context.sealer, {
        publicKey: request.publicKey,
        commonName: request.commonName,
        organization: `Sealroom host pool ${redeemed.pool}`,
        validDays: HOST_CERT_DAYS,
      });
      const host: HostRecord = {
        name: request.commonName,
        pool: redeemed.pool,
        fingerprint: certificateFingerprint(certificate),
        joinTime: now,
        lastSeen: now,
      };
      await store.putHost(host);
      onJoin(host);
      await record(undefined, 'join', `hosts/${host.name}`, {
        pool: host.pool,
        tokenDigest: redeemed.hash.slice(0, 16),
        certificateFingerprint: host.fingerprint,
      });
      return {
        name: host.name,
        pool: host.pool,
        certificate,
        caCertificate: tls.caPem,
        universeDomain: context.settings.universeDomain,
      };
    },
  };
}
