// A joined host's state directory: who it is, where its control plane is, its key and certificates.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger, Sealer } from '@sealroom/core';
import type { OutboundClient } from '@sealroom/outbound';
import { ComputeError } from '../errors.ts';
import { createCertificateRequest } from './csr.ts';
import { openHostSealer } from './host-seal.ts';

export interface HostState {
  readonly api: string;
  readonly name: string;
  readonly pool: string;
  readonly channelEndpoint: string;
  /** Every replica's channel endpoint as last told (join, then each desired state): tried in turn. */
  readonly channelEndpoints: readonly string[];
  readonly universeDomain: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

const FILES = { meta: 'host.json', cert: 'host-cert.pem', ca: 'ca.pem' } as const;
/** The host's TLS key, sealed (see host-seal.ts for the key that seals it). */
const SEALED_KEY = 'host-key.sealed';
/** What an older agent wrote: the key in clear, migrated (sealed, then removed) on the next start. */
const LEGACY_KEY = 'host-key.pem';
const KEY_CONTEXT = 'sealroom/host/tls-key';

/**
 * Seals the host's private key (PEM) into the state directory under the host's sealing key (its TPM's, or a
 * file key without one), replacing any earlier one.
 */
export function writeHostKey(stateDir: string, keyPem: string, sealer: Sealer): void {
  const target = join(stateDir, SEALED_KEY);
  writeFileSync(`${target}.tmp`, sealer.seal(Buffer.from(keyPem, 'utf8'), KEY_CONTEXT), { mode: 0o600 });
  renameSync(`${target}.tmp`, target);
}

/** The host's private key (PEM): opened from its sealed file, after sealing a key an older agent left in clear. */
export function readHostKey(stateDir: string, sealer: Sealer, logger?: Logger): string {
  const legacy = join(stateDir, LEGACY_KEY);
  if (existsSync(legacy)) {
    writeHostKey(stateDir, readFileSync(legacy, 'utf8'), sealer);
    unlinkSync(legacy);
    logger?.warn({ file: LEGACY_KEY }, 'the host key was stored in clear: sealed it and removed the clear copy');
  }
  return sealer.open(readFileSync(join(stateDir, SEALED_KEY)), KEY_CONTEXT).toString('utf8');
}

export interface JoinOptions {
  readonly api: string;
  readonly token: string;
  readonly name: string;
  readonly stateDir: string;
  readonly outbound: OutboundClient;
  /** Allows an `http` control plane URL, whose join sends the token in clear (development, trusted networks). */
  readonly insecureEnrolment?: boolean;
  /** The TPM that seals the host key (default /dev/tpmrm0 when present, else a file key). */
  readonly tpm?: string;
  readonly logger?: Logger;
}

/** Generates the host's key, sends a CSR with the enrolment token, and keeps what the control plane answers. */
export async function joinDeployment(options: JoinOptions): Promise<HostState> {
  const api = options.api.replace(/\/$/, '');
  // The token is the credential until it is redeemed: in clear, whoever sees it first could join in its place.
  if (new URL(api).protocol !== 'https:' && options.insecureEnrolment !== true)
    throw new ComputeError(
      'ERR_COMPUTE_HOST_INSECURE_JOIN',
      `Refusing to send the enrolment token to ${new URL(api).origin} in clear: use an https URL, or --insecure-enrolment on a network you trust.`,
    );
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = createCertificateRequest(privateKey, options.name);
  const outbound = options.outbound.with({ trustedOrigins: [new URL(api).origin] });
  const response = await outbound.fetch(`${api}/v1/hosts:join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: options.token, csr: csr.toString('base64') }),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    throw new ComputeError('ERR_COMPUTE_HOST_TOKEN', `The control plane refused the join: ${message}`);
  }
  const joined = JSON.parse(text) as {
    name: string;
    pool: string;
    certificate: string;
    caCertificate: string;
    channelEndpoint: string;
    channelEndpoints?: string[];
    universeDomain: string;
  };
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const sealer = await openHostSealer({
    stateDir: options.stateDir,
    ...(options.tpm === undefined ? {} : { tpm: options.tpm }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  writeHostKey(options.stateDir, keyPem, sealer);
  writeFileSync(join(options.stateDir, FILES.cert), joined.certificate, { mode: 0o644 });
  writeFileSync(join(options.stateDir, FILES.ca), joined.caCertificate, { mode: 0o644 });
  const meta = {
    api,
    name: joined.name,
    pool: joined.pool,
    channelEndpoint: joined.channelEndpoint,
    channelEndpoints: endpointList(joined.channelEndpoint, joined.channelEndpoints),
    universeDomain: joined.universeDomain,
  };
  writeFileSync(join(options.stateDir, FILES.meta), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
  return { ...meta, keyPem, certPem: joined.certificate, caPem: joined.caCertificate };
}

export async function readHostState(
  stateDir: string,
  options: { readonly logger?: Logger; readonly tpm?: string } = {},
): Promise<HostState> {
  const path = (f: string) => join(stateDir, f);
  const hasKey = existsSync(path(SEALED_KEY)) || existsSync(path(LEGACY_KEY));
  if (!hasKey || !Object.values(FILES).every((f) => existsSync(path(f))))
    throw new ComputeError(
      'ERR_COMPUTE_HOST_STATE',
      `No joined host in ${stateDir}: run \`sealroom host join\` first.`,
    );
  const meta = JSON.parse(readFileSync(path(FILES.meta), 'utf8')) as Omit<
    HostState,
    'keyPem' | 'certPem' | 'caPem' | 'channelEndpoints'
  > & { channelEndpoints?: unknown };
  return {
    ...meta,
    channelEndpoints: endpointList(meta.channelEndpoint, meta.channelEndpoints),
    keyPem: readHostKey(stateDir, await openHostSealer({ stateDir, ...options }), options.logger),
    certPem: readFileSync(path(FILES.cert), 'utf8'),
    caPem: readFileSync(path(FILES.ca), 'utf8'),
  };
}

const ENDPOINT = /^https:\/\/[^/\s]{1,300}$/;
const MAX_ENDPOINTS = 32;

/** The endpoint first, then the others told, https origins only, each once. */
export function endpointList(first: string, others: unknown): string[] {
  const rest = Array.isArray(others)
    ? others.filter((e): e is string => typeof e === 'string' && ENDPOINT.test(e))
    : [];
  return [...new Set([first, ...rest])].slice(0, MAX_ENDPOINTS);
}

/** Remembers the channel endpoint in use and the replicas' (the control plane restarted, or has replicas). */
export function updateChannelEndpoint(stateDir: string, endpoint: string, others?: readonly string[]): void {
  const path = join(stateDir, FILES.meta);
  const meta = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const channelEndpoints = endpointList(endpoint, others ?? meta.channelEndpoints);
  writeFileSync(
    `${path}.tmp`,
    `${JSON.stringify({ ...meta, channelEndpoint: endpoint, channelEndpoints }, null, 2)}\n`,
    {
      mode: 0o644,
    },
  );
  renameSync(`${path}.tmp`, path);
}
