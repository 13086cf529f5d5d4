// The STS token exchange (RFC 8693 as Google's STS speaks it): request parsing, checks, mapping, condition, token.
import { createHash } from 'node:crypto';
import { type PolicyDecision, type ProviderPolicy, compileProviderPolicy } from '@sealroom/cel';
import type {
  AccessTokenIssuer,
  AuditLog,
  Caller,
  Clock,
  FederatedIdentity,
  Logger,
  ProjectResolver,
} from '@sealroom/core';
import { FederationError, OAUTH_ERROR_OF } from './errors.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import { formatPoolName, formatProviderName, parseAudience, principalOf, providerAudiences } from './names.ts';
import type { FederationStore, ProviderRecord } from './store.ts';
import { type VerifiedToken, decodeSubjectToken, verifySubjectToken } from './subject-token.ts';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const SUBJECT_TOKEN_TYPES: readonly string[] = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
];
export const FEDERATED_TOKEN_MAX_LIFETIME_MS = 60 * 60 * 1000;
export const EXCHANGE_METHOD = 'google.identity.sts.v1.SecurityTokenService.ExchangeToken';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Claims larger than this (as JSON) are left out of the audit entry, which then says so. */
export const MAX_AUDITED_CLAIMS_BYTES = 16 * 1024;

export interface ExchangeRequest {
  readonly grantType: string;
  readonly audience: string;
  readonly scope: readonly string[];
  readonly requestedTokenType: string;
  readonly subjectToken: string;
  readonly subjectTokenType: string;
}

export interface ExchangeResult {
  readonly access_token: string;
  readonly issued_token_type: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

/** Reads a form (snake_case) or JSON (camelCase or snake_case) body into an ExchangeRequest. */
export function parseExchangeRequest(body: unknown): ExchangeRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FederationError('ERR_FEDERATION_REQUEST', 'The request body must be a form or a JSON object.');
  }
  const fields = body as Record<string, unknown>;
  const field = (camel: string, snake: string): string => {
    const value = fields[camel] ?? fields[snake];
    if (value === undefined) return '';
    if (typeof value !== 'string') throw new FederationError('ERR_FEDERATION_REQUEST', `${snake} must be a string.`);
    return value;
  };
  const request: ExchangeRequest = {
    grantType: field('grantType', 'grant_type'),
    audience: field('audience', 'audience'),
    scope: field('scope', 'scope').split(/\s+/).filter(Boolean),
    requestedTokenType: field('requestedTokenType', 'requested_token_type'),
    // google-auth-library sends the token file as read, trailing newline included (`subject_token=…%0A`).
    subjectToken: field('subjectToken', 'subject_token').trim(),
    subjectTokenType: field('subjectTokenType', 'subject_token_type'),
  };
  if (request.grantType !== GRANT_TYPE_TOKEN_EXCHANGE) {
    throw new FederationError('ERR_FEDERATION_REQUEST', `grant_type must be ${GRANT_TYPE_TOKEN_EXCHANGE}.`);
  }
  if (request.requestedTokenType !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw new FederationError('ERR_FEDERATION_REQUEST', `requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}.`);
  }
  if (!SUBJECT_TOKEN_TYPES.includes(request.subjectTokenType)) {
    throw new FederationError(
      'ERR_FEDERATION_REQUEST',
      'subject_token_type must be urn:ietf:params:oauth:token-type:jwt or urn:ietf:params:oauth:token-type:id_token.',
    );
  }
  if (request.subjectToken === '') throw new FederationError('ERR_FEDERATION_REQUEST', 'subject_token is required.');
  if (request.audience === '') throw new FederationError('ERR_FEDERATION_REQUEST', 'audience is required.');
  return request;
}

export interface TokenExchangeOptions {
  readonly store: FederationStore;
  readonly keys: IssuerKeys;
  readonly clock: Clock;
  readonly tokens: AccessTokenIssuer;
  readonly audit: AuditLog;
  readonly projects: ProjectResolver;
  readonly logger: Logger;
  readonly universeDomain: string;
}

interface AuditTarget {
  readonly projectNumber: string;
  readonly poolId: string;
  readonly name: string;
}

export interface ResolvedProvider {
  readonly provider: ProviderRecord;
  readonly policy: ProviderPolicy;
}

export interface TokenExchange {
  exchange(request: ExchangeRequest): Promise<ExchangeResult>;
  /** The active provider an audience names; throws ERR_FEDERATION_TARGET. */
  resolveAudience(audience: string): Promise<ResolvedProvider>;
  /** The compiled policy of a provider record, cached by name and update time. */
  policyOf(provider: ProviderRecord): ProviderPolicy;
  verify(token: string, provider: ProviderRecord): Promise<VerifiedToken>;
}

/**
 * The STS token exchange behind `POST /v1/token`: the audience names a pool provider; the subject token
 * (an attestation token) must verify against the provider's issuer keys; the provider's CEL mapping and
 * condition must grant it; then an access token is issued for the mapped principal. Every outcome is
 * audited in the pool's project. `createFederationService` wires it with the deployment's context.
 *
 * @example
 * ```ts
 * const exchange = createTokenExchange({
 *   store: await createSqlFederationStore(ctx.db, { clock: ctx.clock }),
 *   keys: createIssuerKeys({ clock: ctx.clock, outbound: ctx.outbound }),
 *   clock: ctx.clock, tokens: ctx.tokens, audit: ctx.audit, projects: ctx.projects, logger: ctx.logger,
 *   universeDomain: ctx.settings.universeDomain,
 * });
 * // body: the form google-auth-library posts (grant_type token-exchange, audience, subject_token, …)
 * const { access_token, expires_in } = await exchange.exchange(parseExchangeRequest(body));
 * ```
 */
export function createTokenExchange(options: TokenExchangeOptions): TokenExchange {
  const policies = new Map<string, { updateTime: number; policy: ProviderPolicy }>();
  const policyOf = (provider: ProviderRecord): ProviderPolicy => {
    const cached = policies.get(provider.name);
    if (cached && cached.updateTime === provider.updateTime) return cached.policy;
    // Stored policies passed the cost estimate when saved; the runtime limit bounds them here.
    const policy = compileProviderPolicy(
      { attributeMapping: provider.attributeMapping, attributeCondition: provider.attributeCondition },
      { estimatedCostLimit: Number.POSITIVE_INFINITY },
    );
    policies.set(provider.name, { updateTime: provider.updateTime, policy });
    return policy;
  };

  const resolveAudience = async (audience: string): Promise<ResolvedProvider> => {
    const invalidTarget = () =>
      new FederationError(
        'ERR_FEDERATION_TARGET',
        'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
      );
    const parsed = parseAudience(audience);
    if (!parsed || parsed.universeDomain !== options.universeDomain) throw invalidTarget();
    const project = await options.projects.resolve(parsed.project);
    if (!project) throw invalidTarget();
    const name = { projectNumber: project.projectNumber, poolId: parsed.poolId, providerId: parsed.providerId };
    const pool = await options.store.getPool(formatPoolName(name));
    if (pool?.state !== 'ACTIVE' || pool.disabled) throw invalidTarget();
    const provider = await options.store.getProvider(`${pool.name}/providers/${parsed.providerId}`);
    if (provider?.state !== 'ACTIVE' || provider.disabled) throw invalidTarget();
    return { provider, policy: policyOf(provider) };
  };

  const verify = (token: string, provider: ProviderRecord): Promise<VerifiedToken> =>
    verifySubjectToken(token, {
      issuerUri: provider.oidc.issuerUri,
      jwksJson: provider.oidc.jwksJson,
      audiences:
        provider.oidc.allowedAudiences.length > 0
          ? provider.oidc.allowedAudiences
          : providerAudiences(provider, options.universeDomain),
      keys: options.keys,
      clock: options.clock,
    });

  /** The project and provider name an audience points at, for auditing refusals before a provider is found. */
  const targetOf = async (audience: string): Promise<AuditTarget | undefined> => {
    const parsed = parseAudience(audience);
    if (!parsed || parsed.universeDomain !== options.universeDomain) return undefined;
    const project = await options.projects.resolve(parsed.project);
    if (!project) return undefined;
    return {
      projectNumber: project.projectNumber,
      name: formatProviderName({
        projectNumber: project.projectNumber,
        poolId: parsed.poolId,
        providerId: parsed.providerId,
      }),
      poolId: parsed.poolId,
    };
  };

  const audit = async (
    provider: AuditTarget | undefined,
    request: ExchangeRequest,
    outcome: { caller?: Caller; error?: FederationError; decision?: PolicyDecision; verified?: VerifiedToken },
  ) => {
    if (!provider) return;
    const denial = outcome.decision && !outcome.decision.granted ? outcome.decision.denial : undefined;
    const identity = outcome.decision?.identity;
    const details: Record<string, unknown> = {
      subjectTokenDigest: digest(request.subjectToken),
      ...(outcome.verified ? { issuer: outcome.verified.issuer, kid: outcome.verified.kid } : {}),
      ...auditedClaims(request.subjectToken, outcome.verified),
      ...(identity
        ? { subject: identity.subject, principal: principalOf(provider, identity.subject, options.universeDomain) }
        : {}),
      ...(outcome.error ? { reason: outcome.error.message, errorCode: outcome.error.code } : {}),
      // Why the issuer's keys could not be had (URL, reason code): for the pool owner, never the caller.
      ...(outcome.error?.auditDetail ? { issuerFetch: outcome.error.auditDetail } : {}),
      ...(denial?.clause ? { failingClause: denial.clause.text, failingClauseIndex: denial.clause.index } : {}),
      ...(denial ? { failingExpression: denial.expression } : {}),
    };
    try {
      await options.audit.record({
        project: provider.projectNumber,
        method: EXCHANGE_METHOD,
        resource: provider.name,
        caller: outcome.caller,
        outcome: outcome.error ? 'DENIED' : 'ALLOWED',
        ...(outcome.error ? { status: OAUTH_ERROR_OF[outcome.error.code] } : {}),
        details,
      });
    } catch (error) {
      options.logger.error({ provider: provider.name, error }, 'audit of a token exchange failed');
      // A token is answered only once its exchange is logged (the audit entry and its transparency leaf), as a
      // key is used only once its use is: a grant whose entry could not be written fails. A refusal stays one.
      if (!outcome.error) throw error;
    }
  };

  return {
    resolveAudience,
    policyOf,
    verify,
    async exchange(request) {
      let provider: ProviderRecord | undefined;
      let verified: VerifiedToken | undefined;
      let decision: PolicyDecision | undefined;
      try {
        const resolved = await resolveAudience(request.audience);
        provider = resolved.provider;
        verified = await verify(request.subjectToken, provider);
        decision = await resolved.policy.decideAsync(verified.claims);
        if (!decision.granted) {
          const { denial } = decision;
          if (denial.code === 'ERR_CEL_COST_LIMIT') {
            throw new FederationError(
              'ERR_FEDERATION_COST_LIMIT',
              `The ${denial.stage === 'condition' ? 'attribute condition' : 'attribute mapping'} exceeded its evaluation cost limit.`,
            );
          }
          throw denial.stage === 'condition'
            ? new FederationError(
                'ERR_FEDERATION_CONDITION',
                'The given credential is rejected by the attribute condition.',
              )
            : new FederationError('ERR_FEDERATION_MAPPING', `The attribute mapping failed: ${denial.reason}`);
        }
        const identity = decision.identity;
        const principal = principalOf(provider, identity.subject, options.universeDomain);
        const federation: FederatedIdentity = {
          pool: provider.poolName,
          provider: provider.name,
          subject: identity.subject,
          attributes: identity.attributes,
          groups: identity.groups,
        };
        const now = options.clock.now();
        const lifetimeMs = Math.min(FEDERATED_TOKEN_MAX_LIFETIME_MS, verified.expiresAt * 1000 - now);
        if (lifetimeMs <= 0)
          throw new FederationError('ERR_FEDERATION_TOKEN_TIME', 'The subject token has expired (exp).');
        const issued = await options.tokens.issueAccessToken({
          kind: 'federated',
          principal,
          federation,
          lifetimeMs,
          scopes: request.scope.length > 0 ? request.scope : [CLOUD_PLATFORM_SCOPE],
        });
        const caller: Caller = {
          kind: 'federated',
          principal,
          federation,
          credentialId: digest(issued.accessToken),
          expiresAt: issued.expiresAt,
        };
        await audit(provider, request, { caller, decision, verified });
        return {
          access_token: issued.accessToken,
          issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
          token_type: 'Bearer',
          expires_in: Math.max(1, Math.floor((issued.expiresAt - now) / 1000)),
        };
      } catch (error) {
        if (error instanceof FederationError) {
          await audit(provider ?? (await targetOf(request.audience)), request, {
            error,
            ...(decision ? { decision } : {}),
            ...(verified ? { verified } : {}),
          });
        }
        throw error;
      }
    },
  };
}

/**
 * The token's claims for the audit entry, so that its owner can see what was presented and why it was
 * refused; never the token itself (without its signature the claims grant nothing). Unverified claims say so.
 */
function auditedClaims(token: string, verified: VerifiedToken | undefined): Record<string, unknown> {
  let claims: Record<string, unknown>;
  try {
    claims = verified?.claims ?? decodeSubjectToken(token).claims;
  } catch {
    return {};
  }
  // Their size as the issuer wrote them: the payload segment's decoded length (it decoded, so the token has
  // its three segments), without serializing them again.
  const start = token.indexOf('.') + 1;
  if (Math.floor(((token.indexOf('.', start) - start) * 3) / 4) > MAX_AUDITED_CLAIMS_BYTES)
    return { claimsOmitted: `larger than ${MAX_AUDITED_CLAIMS_BYTES} bytes` };
  return { claims, claimsVerified: verified !== undefined };
}

/** A short digest that identifies a credential in logs and audit entries without revealing it. */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 32);
}
