// `sealroom-wordcount send`: the seed's mTLS client; checks the attested workload holds this TLS session, then sends.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type Claims, parseClaims } from '@sealroom/core';
import { createOutboundClient, type OutboundClient } from '@sealroom/outbound';
import { type KeyWrapper, tlsBindingNonce } from '@sealroom/workload';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { createContributionSealer } from '../contribution.ts';
import { WordcountError } from '../errors.ts';
import { type ParsedFlags, checkKnownFlags, requireFlag } from './flags.ts';
import { openUserKms, projectOfKey } from './kms.ts';
import { openUserSession } from './user-session.ts';

export const SEND_FLAGS = [
  'host',
  'server_name',
  'audience',
  'kmsKey',
  'user',
  'ca_files',
  'tls_crt',
  'tls_key',
  'image_digest',
  'collaborator',
  'api',
  'allow_debug',
  'issuer',
];

/** Discovery documents and JWKS larger than this are refused. */
const ISSUER_DOCUMENT_MAX_BYTES = 256 * 1024;

interface Exchange {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The TLS exporter nonce of the session that carried this exchange. */
  readonly nonce: string;
}

/** One request; with `bindTo`, the body is written only if the socket is the TLS session that nonce came from. */
function exchange(
  agent: Agent,
  target: { host: string; port: number; serverName: string },
  method: string,
  path: string,
  body?: { text: string; bindTo: string },
) {
  return new Promise<Exchange>((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.host,
        port: target.port,
        servername: target.serverName,
        method,
        path,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        const nonce = tlsBindingNonce(res.socket as TLSSocket);
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, nonce });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('error', reject);
    if (!body) {
      req.end();
      return;
    }
    req.once('socket', (socket) => {
      let nonce: string | undefined;
      try {
        nonce = tlsBindingNonce(socket as TLSSocket);
      } catch {
        nonce = undefined;
      }
      if (nonce !== body.bindTo) {
        req.destroy(new WordcountError('ERR_WORDCOUNT_CLIENT', 'the TLS session changed; nothing was sent'));
        return;
      }
      req.end(body.text);
    });
  });
}

export interface ConnectTokenExpectations {
  readonly nonce: string;
  readonly audience: string;
  /** The verifier this collaborator trusts; a token from any other issuer is refused before any fetch. */
  readonly issuer: string;
  readonly imageDigest?: string;
  readonly allowDebug?: boolean;
  /** The client for the issuer's discovery and JWKS; by default one that trusts the issuer's origin only. */
  readonly outbound?: OutboundClient;
}

/**
 * Verifies the token against the expected issuer's keys, reads its claims through the claims contract,
 * and checks nonce, platform and (if given) image digest. The token's own `iss` is only compared, never
 * fetched: the peer chose it.
 *
 * @example
 * ```ts
 * const claims = await verifyConnectToken(token, { nonce, audience: 'https://tee.collaborator1.com', issuer });
 * claims.submods.container.image_digest; // the image holding this TLS session
 * ```
 */
export async function verifyConnectToken(token: string, expected: ConnectTokenExpectations): Promise<Claims> {
  const fail = (reason: string) => new WordcountError('ERR_WORDCOUNT_CLIENT', `attestation check failed: ${reason}`);
  const trusted = expected.issuer.replace(/\/+$/, '');
  let issuer: string;
  try {
    issuer = String(decodeJwt(token).iss ?? '');
  } catch {
    throw fail('the token is not a JWT');
  }
  if (issuer.replace(/\/+$/, '') !== trusted) throw fail('the token was not issued by the verifier this client trusts');
  const outbound = expected.outbound ?? createOutboundClient({ policy: { trustedOrigins: [new URL(trusted).origin] } });
  const readJson = async (url: string): Promise<Record<string, unknown>> => {
    const response = await outbound.get(url, { maxBodyBytes: ISSUER_DOCUMENT_MAX_BYTES });
    if (response.status !== 200)
      throw new WordcountError('ERR_WORDCOUNT_REQUEST_FAILED', `${url} answered ${response.status}`);
    return JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
  };
  let keys: JSONWebKeySet;
  try {
    const discovery = await readJson(`${trusted}/.well-known/openid-configuration`);
    keys = (await readJson(String(discovery.jwks_uri))) as unknown as JSONWebKeySet;
  } catch (cause) {
    throw new WordcountError('ERR_WORDCOUNT_CLIENT', 'the verifier’s signing keys could not be fetched', { cause });
  }
  const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
    issuer,
    audience: expected.audience,
  }).catch((cause: unknown) => {
    throw new WordcountError('ERR_WORDCOUNT_CLIENT', 'attestation token signature or claims invalid', { cause });
  });
  let claims: Claims;
  try {
    claims = parseClaims(payload);
  } catch (cause) {
    // Not a Confidential Space token (swname, submods…): the contract's error names the claim.
    throw new WordcountError('ERR_WORDCOUNT_CLIENT', 'attestation check failed: not a Confidential Space token', {
      cause,
    });
  }
  const nonces = typeof claims.eat_nonce === 'string' ? [claims.eat_nonce] : (claims.eat_nonce ?? []);
  if (!nonces.includes(expected.nonce)) throw fail('the token is not bound to this TLS session');
  if (!expected.allowDebug && claims.dbgstat !== 'disabled-since-boot') throw fail('the instance is debuggable');
  const digest = claims.submods.container.image_digest;
  if (expected.imageDigest && digest !== expected.imageDigest) {
    throw fail(`image digest ${digest} is not ${expected.imageDigest}`);
  }
  return claims;
}

export interface SendContributionOptions {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
  readonly ca: readonly string[];
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly collaborator: string;
  /** The collaborator's own KMS key (encrypt). */
  readonly wrapper: KeyWrapper;
  readonly word: string;
  readonly imageDigest?: string;
  readonly allowDebug?: boolean;
  /** The verifier whose tokens this collaborator accepts (its provider's issuer). */
  readonly issuer: string;
}

/** `/connect`, verify the token bound to this TLS session, then `/increment` over the same session. */
export async function sendContribution(options: SendContributionOptions): Promise<Record<string, unknown>> {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: [...options.ca],
    cert: options.cert,
    key: options.key,
  });
  try {
    const target = { host: options.host, port: options.port, serverName: options.serverName };
    const connect = await exchange(agent, target, 'GET', '/connect');
    if (connect.status !== 200) throw new WordcountError('ERR_WORDCOUNT_CLIENT', `/connect answered ${connect.status}`);
    const nonce = connect.nonce;
    const claims = await verifyConnectToken(String(connect.body.token), {
      nonce,
      audience: `https://${options.serverName}`,
      issuer: options.issuer,
      ...(options.imageDigest ? { imageDigest: options.imageDigest } : {}),
      allowDebug: options.allowDebug === true,
    });
    const sealer = createContributionSealer({
      collaborator: options.collaborator,
      wrapper: options.wrapper,
      mode: 'envelope',
    });
    const wire = await sealer.seal(options.word);
    const body = JSON.stringify({ attributes: wire.attributes, data: wire.data.toString('base64') });
    // Data goes only over the session the token was bound to.
    const sent = await exchange(agent, target, 'POST', '/increment', { text: body, bindTo: nonce });
    if (sent.status === 503) {
      throw new WordcountError(
        'ERR_WORDCOUNT_CLIENT',
        '/increment answered 503: the workload cannot reach a collaborator’s key service right now; nothing was counted, send it again',
      );
    }
    if (sent.status !== 200) throw new WordcountError('ERR_WORDCOUNT_CLIENT', `/increment answered ${sent.status}`);
    return {
      status: 'counted',
      imageDigest: claims.submods.container.image_digest,
      contributionId: wire.attributes.contribution_id,
    };
  } finally {
    agent.destroy();
  }
}

export async function sendCommand(flags: ParsedFlags, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  checkKnownFlags(flags, SEND_FLAGS);
  const [host = '', portText = '443'] = requireFlag(flags, 'host').split(':');
  const kmsKey = requireFlag(flags, 'kmsKey');
  const imageDigest = flags.values.get('image_digest');
  const session = await openUserSession(flags.values.get('api'), env);
  const kms = openUserKms(session, kmsKey);
  try {
    return await sendContribution({
      host,
      port: Number(portText),
      serverName: requireFlag(flags, 'server_name'),
      ca: requireFlag(flags, 'ca_files')
        .split(',')
        .map((file) => readFileSync(file, 'utf8')),
      cert: readFileSync(requireFlag(flags, 'tls_crt')),
      key: readFileSync(requireFlag(flags, 'tls_key')),
      collaborator: flags.values.get('collaborator') ?? projectOfKey(kmsKey),
      wrapper: kms.wrapper,
      word: requireFlag(flags, 'user'),
      ...(imageDigest ? { imageDigest } : {}),
      allowDebug: flags.values.get('allow_debug') === 'true',
      // The deployment's own verifier unless the collaborator trusts another one.
      issuer: flags.values.get('issuer') ?? session.api,
    });
  } finally {
    await kms.close();
  }
}
