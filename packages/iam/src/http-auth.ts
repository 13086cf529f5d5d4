// The OAuth token endpoint (refresh tokens, service-account JWT grants), dev login, admin user creation, OIDC discovery.
import { createPublicKey } from 'node:crypto';
import { type Caller, CoreError, isSealroomError } from '@sealroom/core';
import { type ApiRoute, type ErrorMapper, parseWith } from '@sealroom/transport';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { z } from 'zod';
import { ACCESS_TOKEN_TTL_MS } from './credentials.ts';
import type { IamDeps } from './deps.ts';
import { IamError } from './errors.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const LoginSchema = z.object({ email: z.string().regex(EMAIL, 'must be an email address') }).strict();

/** RFC 6749 §5.2 error bodies for the token endpoint. */
const oauthErrors: ErrorMapper = (error) => {
  if (isSealroomError(error) && error.code === 'ERR_IAM_INVALID_GRANT') {
    return { status: 400, body: { error: 'invalid_grant', error_description: error.message } };
  }
  if (isSealroomError(error) && error.status === 'INVALID_ARGUMENT') {
    return { status: 400, body: { error: 'invalid_request', error_description: error.message } };
  }
  return undefined;
};

export function authRoutes(deps: IamDeps): ApiRoute[] {
  const { credentials, serviceAccounts, idTokens, settings } = deps;

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
    const account = email ? await serviceAccounts.get(email) : undefined;
    const pem = account && kid ? await serviceAccounts.publicKey(account.email, kid) : undefined;
    if (!account || !pem) throw new IamError('ERR_IAM_INVALID_GRANT', 'Invalid JWT Signature.');
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
    return credentials.issueAccessToken({
      kind: 'serviceAccount',
      principal: `serviceAccount:${account.email}`,
      lifetimeMs: ACCESS_TOKEN_TTL_MS,
    });
  };

  return [
    {
      method: 'POST',
      path: '/token',
      auth: 'none',
      body: 'form-or-json',
      mapError: oauthErrors,
      handler: async (req) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const grant = body.grant_type;
        let issued: { accessToken: string; expiresAt: number };
        if (grant === 'refresh_token' && typeof body.refresh_token === 'string') {
          issued = await credentials.refresh(body.refresh_token.trim());
        } else if (grant === JWT_BEARER && typeof body.assertion === 'string') {
          issued = await jwtGrant(body.assertion.trim(), req.baseUrl);
        } else {
          throw new CoreError('ERR_INVALID_ARGUMENT', 'Unsupported grant_type, or its parameters are missing.');
        }
        return {
          access_token: issued.accessToken,
          expires_in: Math.max(0, Math.floor((issued.expiresAt - deps.clock.now()) / 1000)),
          token_type: 'Bearer',
        };
      },
    },
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
        deps.logger.warn({ account: email }, 'DEV LOGIN: account signed in without any proof of identity');
        return {
          account: email.toLowerCase(),
          refreshToken: await credentials.issueRefreshToken(email),
          type: 'authorized_user',
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/users',
      handler: async (req) => {
        const caller = req.caller as Caller;
        if (caller.kind !== 'user' || !(await credentials.isAdmin(caller.principal.slice('user:'.length)))) {
          throw new CoreError('ERR_PERMISSION_DENIED', 'Only deployment administrators can create user credentials.');
        }
        const { email } = parseWith(LoginSchema, req.body);
        await credentials.ensureUser(email, 'admin');
        deps.logger.info({ account: email, by: caller.principal }, 'user credential issued');
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
