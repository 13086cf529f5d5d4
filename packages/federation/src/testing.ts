// Test support: a local OIDC issuer (discovery + JWKS on 127.0.0.1) and a server with iam and the sts service.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Clock, resolveSharedDir } from '@sealroom/core';
import { createIamTestContext, type IamTestContext } from '@sealroom/iam/testing';
import type { OutboundPolicy } from '@sealroom/outbound';
import { type ApiRoute, buildRestApp } from '@sealroom/transport';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createFederationService } from './module.ts';

export interface TestIssuer {
  readonly url: string;
  readonly rsaPublicPem: string;
  /** Serves discovery (false answers 404 for it). */
  discovery: boolean;
  /** Number of JWKS downloads so far. */
  readonly jwksFetches: () => number;
  sign(claims: Record<string, unknown>, options?: { alg?: 'RS256' | 'ES256'; kid?: string }): Promise<string>;
  /** Adds a new RSA key under `kid` (a rotation) and signs with it from then on. */
  rotate(kid: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const keys = new Map<string, { alg: 'RS256' | 'ES256'; privateKey: CryptoKey; jwk: JWK }>();
  const addKey = async (kid: string, alg: 'RS256' | 'ES256') => {
    const pair = await generateKeyPair(alg, { extractable: true });
    keys.set(kid, {
      alg,
      privateKey: pair.privateKey,
      jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' },
    });
    return pair;
  };
  const rsa = await addKey('rsa-1', 'RS256');
  await addKey('ec-1', 'ES256');
  let currentRsaKid = 'rsa-1';
  let fetches = 0;
  let url = '';
  const state = { discovery: true };
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration' && state.discovery) {
      send(200, { issuer: url, jwks_uri: `${url}/jwks` });
    } else if (request.url === '/jwks') {
      fetches++;
      send(200, { keys: [...keys.values()].map((k) => k.jwk) });
    } else send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rsaPublicPem = await exportSPKI(rsa.publicKey);
  return {
    url,
    rsaPublicPem,
    get discovery() {
      return state.discovery;
    },
    set discovery(value: boolean) {
      state.discovery = value;
    },
    jwksFetches: () => fetches,
    async sign(claims, options = {}) {
      const alg = options.alg ?? 'RS256';
      const kid = options.kid ?? (alg === 'RS256' ? currentRsaKid : 'ec-1');
      const key = keys.get(kid) ?? keys.get(currentRsaKid);
      return new SignJWT(claims)
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .sign((key as { privateKey: CryptoKey }).privateKey);
    },
    async rotate(kid) {
      await addKey(kid, 'RS256');
      currentRsaKid = kid;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token-claims example of the shared contracts, re-timed to `nowMs` and re-issued by `issuer`. */
export function exampleClaims(issuer: string, nowMs: number): Record<string, unknown> {
  const path = join(resolveSharedDir(), 'contracts', 'token-claims.example.json');
  const claims = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const now = Math.floor(nowMs / 1000);
  return { ...claims, iss: issuer, iat: now - 10, nbf: now - 10, exp: now + 3590 };
}

export interface FederationHarness {
  readonly iam: IamTestContext;
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly ownerToken: string;
  readonly projectNumber: string;
  readonly projectId: string;
  close(): Promise<void>;
}

export async function startHarness(
  options: { clock?: Clock; dev?: boolean; outbound?: OutboundPolicy; extraRoutes?: readonly ApiRoute[] } = {},
): Promise<FederationHarness> {
  const iam = await createIamTestContext({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.dev !== undefined ? { dev: options.dev } : {}),
    ...(options.outbound ? { outbound: options.outbound } : {}),
  });
  const owner = await iam.createUser('owner@example.com');
  const project = await iam.createProject('collab-1', 'owner@example.com');
  const sts = await createFederationService(iam.context);
  const app = await buildRestApp({
    routes: [...sts.routes, ...iam.iam.module.routes, ...(options.extraRoutes ?? [])],
    authenticator: iam.context.authenticator,
    logger: iam.logger,
    logRequests: 'errors',
  });
  return {
    iam,
    app,
    ownerToken: owner.accessToken,
    projectNumber: project.projectNumber,
    projectId: project.projectId,
    async close() {
      await app.close();
      await iam.close();
    },
  };
}
