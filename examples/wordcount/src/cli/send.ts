// `sealroom-wordcount send`: the seed's mTLS client; checks the attested workload holds this TLS session, then sends.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type KeyWrapper, tlsBindingNonce } from '@sealroom/workload';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
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
];

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

/** Verifies the token against its issuer's keys and checks nonce, platform and (if given) image digest. */
export async function verifyConnectToken(
  token: string,
  expected: { nonce: string; audience: string; imageDigest?: string; allowDebug?: boolean },
): Promise<Record<string, unknown>> {
  const fail = (reason: string) => new WordcountError('ERR_WORDCOUNT_CLIENT', `attestation check failed: ${reason}`);
  const issuer = String(decodeJwt(token).iss ?? '');
  const discovery = (await (await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer,
    audience: expected.audience,
  }).catch((cause: unknown) => {
    throw new WordcountError('ERR_WORDCOUNT_CLIENT', 'attestation token signature or claims invalid', { cause });
  });
  const nonces = ([] as unknown[]).concat(payload.eat_nonce ?? []);
  if (!nonces.includes(expected.nonce)) throw fail('the token is not bound to this TLS session');
  if (payload.swname !== 'CONFIDENTIAL_SPACE') throw fail('not a Confidential Space workload');
  if (!expected.allowDebug && payload.dbgstat !== 'disabled-since-boot') throw fail('the instance is debuggable');
  const container = (payload.submods as { container?: { image_digest?: string } } | undefined)?.container;
  if (expected.imageDigest && container?.image_digest !== expected.imageDigest) {
    throw fail(`image digest ${String(container?.image_digest)} is not ${expected.imageDigest}`);
  }
  return payload as Record<string, unknown>;
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
    if (sent.status !== 200) throw new WordcountError('ERR_WORDCOUNT_CLIENT', `/increment answered ${sent.status}`);
    const container = (claims.submods as { container?: { image_digest?: string } } | undefined)?.container;
    return { status: 'counted', imageDigest: container?.image_digest, contributionId: wire.attributes.contribution_id };
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
    });
  } finally {
    await kms.close();
  }
}
