// The OAuth token endpoint (refresh tokens, service-account JWT grants for access or ID tokens), token
// revocation, dev login and the deployment issuer's OIDC discovery.
import { type Caller, isSealroomError } from '@sealroom/core';
import { type ApiRoute, type ErrorMapper, parseWith, reply } from '@sealroom/transport';
import { z } from 'zod';
import { ACCESS_TOKEN_TTL_MS } from './credentials.ts';
import type { IamDeps } from './deps.ts';
import { IamError } from './errors.ts';
import { GOOGLE_TOKEN_AUDIENCE, type JwtGrantOptions, verifyJwtAssertion } from './jwt-grant.ts';

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
  if (error.code === 'ERR_IAM_UNSUPPORTED_GRANT_TYPE') return body('unsupported_grant_type', error.message);
  if (error.code === 'ERR_IAM_INVALID_TOKEN') return body('invalid_token', error.message);
  if (error.httpStatus === 400) return body('invalid_request', error.message);
  return undefined;
};

/** The audiences a JWT-bearer assertion may name: the server's configured public URL, and Google's endpoint. */
export function tokenAudiences(baseUrl: string): readonly string[] {
  return [`${baseUrl}/token`, GOOGLE_TOKEN_AUDIENCE];
}

function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

export function authRoutes(deps: IamDeps): ApiRoute[] {
  const { credentials, idTokens, settings, audit } = deps;
  const grantOptions: JwtGrantOptions = {
    accounts: deps.serviceAccounts,
    keys: deps.keys,
    clock: deps.clock,
    audiences: tokenAudiences(settings.baseUrl),
  };

  const jwtGrant = async (assertion: string): Promise<Record<string, unknown>> => {
    const { account, keyId, claims } = await verifyJwtAssertion(assertion, grantOptions);
    const caller: Caller = {
      kind: 'serviceAccount',
      principal: `serviceAccount:${account.email}`,
      credentialId: keyId.slice(0, 16),
      expiresAt: claims.exp * 1000,
    };
    const target = claims.target_audience;
    await audit.record({
      project: account.projectNumber,
      method: `${OAUTH2}.${target === undefined ? 'GrantAccessToken' : 'GrantIdToken'}`,
      resource: `projects/${account.projectId}/serviceAccounts/${account.email}/keys/${keyId}`,
      caller,
      outcome: 'ALLOWED',
      details: target === undefined ? { grant: 'jwt-bearer' } : { grant: 'jwt-bearer', audience: target },
    });
    if (target !== undefined) {
      // Google's answer to an assertion with target_audience: an ID token for that audience, and nothing else.
      const idToken = await idTokens.sign({
        audience: target,
        subject: account.uniqueId,
        email: account.email,
        extra: { azp: account.uniqueId },
      });
      return { id_token: idToken };
    }
    const issued = await credentials.issueAccessToken(
      { kind: 'serviceAccount', principal: `serviceAccount:${account.email}`, lifetimeMs: ACCESS_TOKEN_TTL_MS },
      { keyId },
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
          return reply(await jwtGrant(assertion), 200, NO_STORE);
        }
        throw new IamError(
          'ERR_IAM_UNSUPPORTED_GRANT_TYPE',
          'Unsupported grant_type: use refresh_token or urn:ietf:params:oauth:grant-type:jwt-bearer.',
        );
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
