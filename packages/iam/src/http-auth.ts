// The OAuth token endpoint (refresh tokens, service-account JWT grants), token revocation, dev login and the
// deployment issuer's OIDC discovery.
import { createPublicKey } from 'node:crypto';
import { CoreError, isSealroomError } from '@sealroom/core';
import { type ApiRoute, type ErrorMapper, parseWith, reply } from '@sealroom/transport';
import { z } from 'zod';
import { ACCESS_TOKEN_TTL_MS } from './credentials.ts';
import type { IamDeps } from './deps.ts';
import { IamError } from './errors.ts';
import { decodeProtectedHeader, jwtVerify } from 'jose';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const OAUTH2 = 'google.identity.oauth2';
const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const LoginSchema = z.object({ email: z.string().regex(EMAIL, 'must be an email address') }).strict();
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** RFC 6749 §5.2 (and RFC 7009 §2.2.1) error bodies for the token and revocation endpoints. */
const oauthErrors: ErrorMapper = (error) => {
  const body = (code: string, description: string) => ({
    status: 400,
    headers: NO_STORE,
    body: { error: code, error_description: description },
  });
  if (!isSealroomError(error)) return undefined;
  if (error.code === 'ERR_IAM_INVALID_GRANT') return body('invalid_grant', error.message);
  if (error.code === 'ERR_IAM_INVALID_TOKEN') return body('invalid_token', error.message);
  if (error.httpStatus === 400) return body('invalid_request', error.message);
  return undefined;
};

function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

export function authRoutes(deps: IamDeps): ApiRoute[] {
  const { credentials, idTokens, settings, audit } = deps;

  const jwtGrant = async (assertion: string, baseUrl: string) => {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      throw new IamError('ERR_IAM_INVALID_GRANT', 'Invalid JWT: the assertion is not a JWT.');
    }
    const claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as {
      iss?: unknown;
    };
    const email = typeof claims.iss === 'string' ? claims.iss : '';
    const account = email ? await deps.serviceAccounts.get(email) : undefined;
    const pem = account && kid ? await deps.keys.publicKey(account, kid) : undefined;
    if (!account || !pem || !kid) throw new IamError('ERR_IAM_INVALID_GRANT', 'Invalid JWT Signature.');
    if (account.disabled) throw new IamError('ERR_IAM_INVALID_GRANT', 'The service account is disabled.');
    try {
      await jwtVerify(assertion, createPublicKey(pem), {
        algorithms: ['RS256'],
        issuer: account.email,
        audience: [`${baseUrl}/token`, `${settings.baseUrl}/token`],
        maxTokenAge: '1h',
        clockTolerance: 60,
        currentDate: new Date(deps.clock.now()),
      });
    } catch {
      throw new IamError(
        'ERR_IAM_INVALID_GRANT',
        'Invalid JWT: signature, audience, issuer or lifetime is not acceptable.',
      );
    }
    const issued = await credentials.issueAccessToken(
      { kind: 'serviceAccount', principal: `serviceAccount:${account.email}`, lifetimeMs: ACCESS_TOKEN_TTL_MS },
      { keyId: kid },
    );
    return {
      access_token: issued.accessToken,
      expires_in: Math.max(0, Math.floor((issued.expiresAt - deps.clock.now()) / 1000)),
      token_type: 'Bearer',
    };
  };

  const revoke = async (token: string | undefined) => {
    if (!token) throw new IamError('ERR_IAM_INVALID_TOKEN', 'The token parameter is required.');
    const revoked = await credentials.revoke(token);
    if (!revoked) throw new IamError('ERR_IAM_INVALID_TOKEN', 'Token expired or revoked.');
    await audit.recordDeployment({
      method: `${OAUTH2}.RevokeToken`,
      resource: `users/${revoked.email}`,
      caller: undefined,
      outcome: 'ALLOWED',
      details: { tokenType: revoked.kind === 'refresh' ? 'refresh_token' : 'access_token' },
    });
    return reply({}, 200, NO_STORE);
  };

  return [
    {
      method: 'POST',
      path: '/token',
      auth: 'none',
      body: 'form-or-json',
      bodyLimit: 64 * 1024,
      mapError: oauthErrors,
      handler: async (req) => {
        const grant = field(req.body, 'grant_type');
        if (grant === 'refresh_token') {
          const refreshToken = field(req.body, 'refresh_token');
          if (!refreshToken) throw new IamError('ERR_IAM_INVALID_GRANT', 'Missing refresh_token.');
          const issued = await credentials.refresh(refreshToken);
          return reply(
            {
              access_token: issued.accessToken,
              expires_in: Math.max(0, Math.floor((issued.expiresAt - deps.clock.now()) / 1000)),
              token_type: 'Bearer',
            },
            200,
            NO_STORE,
          );
        }
        if (grant === JWT_BEARER) {
          const assertion = field(req.body, 'assertion');
          if (!assertion) throw new IamError('ERR_IAM_INVALID_GRANT', 'Invalid JWT: the assertion is missing.');
          return reply(await jwtGrant(assertion, req.baseUrl), 200, NO_STORE);
        }
        throw new CoreError('ERR_INVALID_ARGUMENT', 'Unsupported grant_type, or its parameters are missing.');
      },
    },
    // Google's revocation endpoint (oauth2.googleapis.com/revoke): POST with a form or JSON body, or GET, as
    // google-auth-library's revokeToken() sends it, with ?token=.
    ...(['POST', 'GET'] as const).map(
      (method): ApiRoute => ({
        method,
        path: '/revoke',
        auth: 'none',
        body: method === 'POST' ? 'form-or-json' : 'none',
        bodyLimit: 16 * 1024,
        mapError: oauthErrors,
        handler: (req) => revoke(field(req.body, 'token') ?? req.query.token?.trim()),
      }),
    ),
    {
      method: 'POST',
      path: '/v1/dev:login',
      auth: 'none',
      handler: async (req) => {
        if (!settings.dev)
          throw new IamError(
            'ERR_IAM_DEV_LOGIN_DISABLED',
            'Dev login is available only on a server started with --dev.',
          );
        const { email } = parseWith(LoginSchema, req.body);
        await credentials.ensureUser(email, 'dev');
        if ((await credentials.getUser(email))?.disabled) {
          throw new IamError('ERR_IAM_USER_DISABLED', `User ${email.toLowerCase()} is disabled.`);
        }
        deps.logger.warn({ account: email }, 'DEV LOGIN: account signed in without any proof of identity');
        return {
          account: email.toLowerCase(),
          refreshToken: await credentials.issueRefreshToken(email),
          type: 'authorized_user',
        };
      },
    },
    {
      method: 'GET',
      path: '/accounts/.well-known/openid-configuration',
      auth: 'none',
      handler: async () => idTokens.discovery(),
    },
    {
      method: 'GET',
      path: '/accounts/v3/certs',
      auth: 'none',
      handler: async () => idTokens.jwks(),
    },
  ];
}
