// Policy explain: runs a provider's checks, mapping and condition on a token and says, clause by clause, what held.
import { compileProviderPolicy, type ProviderPolicy } from '@sealroom/cel';
import type { Authorizer, Caller } from '@sealroom/core';
import { isSealroomError, permissionDenied } from '@sealroom/core';
import type { TokenExchange } from './exchange.ts';
import { formatPoolName, principalOf } from './names.ts';
import type { ProviderRecord } from './store.ts';
import { decodeSubjectToken } from './subject-token.ts';

export interface ExplainRequest {
  /** The token to verify and explain; or `claims`, which are explained without any verification. */
  readonly subjectToken?: string | undefined;
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** A draft mapping or condition to try instead of the saved one (the console's policy playground). */
  readonly attributeMapping?: Readonly<Record<string, string>> | undefined;
  readonly attributeCondition?: string | undefined;
  /** Optional resource and permissions to test the resulting principal against. */
  readonly resource?: string | undefined;
  readonly permissions?: readonly string[] | undefined;
}

export interface ClauseReport {
  readonly index: number;
  readonly text: string;
  readonly line: number;
  readonly column: number;
  readonly outcome: string;
  readonly message?: string;
}

export interface PolicyExplanation {
  readonly provider: string;
  /** Whether STS would grant a token now: verification and policy both pass. */
  readonly granted: boolean;
  /** Whether the mapping and condition alone pass (what a draft is judged by). */
  readonly policyGranted: boolean;
  /** The mapping and condition explained are a draft from the request, not the saved ones. */
  readonly draft: boolean;
  readonly verification: { readonly ok: boolean; readonly code?: string; readonly message?: string };
  readonly mapping: {
    readonly ok: boolean;
    readonly subject?: string;
    readonly groups?: readonly string[];
    readonly attributes?: Readonly<Record<string, string>>;
    readonly failedExpression?: string;
    readonly message?: string;
  };
  readonly condition: {
    readonly present: boolean;
    readonly result: 'true' | 'false' | 'error' | 'not-bool' | 'not-evaluated';
    readonly operator?: '&&' | '||';
    readonly clauses: readonly ClauseReport[];
  };
  readonly principal?: string;
  /** The IAM member strings this principal matches (principal://, principalSet:// forms). */
  readonly members: readonly string[];
  readonly access: readonly { readonly permission: string; readonly allowed: boolean }[];
  readonly warnings: readonly string[];
}

/** The permission that lets a caller read a resource's policy, by the resource's last collection. */
const GET_IAM_POLICY: Readonly<Record<string, string>> = {
  projects: 'resourcemanager.projects.getIamPolicy',
  keyRings: 'cloudkms.keyRings.getIamPolicy',
  cryptoKeys: 'cloudkms.cryptoKeys.getIamPolicy',
  secrets: 'secretmanager.secrets.getIamPolicy',
  topics: 'pubsub.topics.getIamPolicy',
  subscriptions: 'pubsub.subscriptions.getIamPolicy',
  repositories: 'artifactregistry.repositories.getIamPolicy',
  serviceAccounts: 'iam.serviceAccounts.getIamPolicy',
};

/**
 * Testing a principal's access to a resource reads that resource's policy, so the caller must be
 * allowed to read it: otherwise the answer is the refusal a missing resource gets (denied reads
 * like missing), and nothing is evaluated.
 */
async function checkMayReadPolicy(authorizer: Authorizer, caller: Caller | undefined, resource: string) {
  const segments = resource.replace(/^\/+/, '').split('/');
  const collection = segments.length >= 2 && segments.length % 2 === 0 ? segments[segments.length - 2] : undefined;
  const permission = (collection && GET_IAM_POLICY[collection]) || 'resourcemanager.projects.getIamPolicy';
  if (!caller || !(await authorizer.isAllowed(caller, permission, resource))) {
    throw permissionDenied(permission, resource);
  }
}

export async function explainPolicy(
  exchange: TokenExchange,
  authorizer: Authorizer,
  provider: ProviderRecord,
  request: ExplainRequest,
  universeDomain: string,
  caller?: Caller,
): Promise<PolicyExplanation> {
  if (request.resource !== undefined) await checkMayReadPolicy(authorizer, caller, request.resource);
  const draft = request.attributeMapping !== undefined || request.attributeCondition !== undefined;
  const attributeCondition = request.attributeCondition ?? provider.attributeCondition;
  // A draft compiles under the same limits as a saved provider; a bad draft is a 400 that says where.
  const policy: ProviderPolicy = draft
    ? compileProviderPolicy({
        attributeMapping: request.attributeMapping ?? provider.attributeMapping,
        attributeCondition,
      })
    : exchange.policyOf(provider);
  const warnings = warningsFor(attributeCondition);
  let verification: PolicyExplanation['verification'] = { ok: true };
  let claims: Record<string, unknown>;
  if (request.subjectToken === undefined) {
    claims = { ...request.claims };
    verification = {
      ok: false,
      code: 'NOT_VERIFIED',
      message: 'Claims were given instead of a token: signature, issuer, audience and lifetime were not checked.',
    };
  } else {
    const token = request.subjectToken.trim();
    try {
      claims = (await exchange.verify(token, provider)).claims;
    } catch (error) {
      verification = isSealroomError(error) ? { ok: false, code: error.code, message: error.message } : { ok: false };
      // Explaining a refused token still helps: evaluate the policy on its unverified claims.
      claims = decodeSubjectToken(token).claims;
      warnings.push('The token did not verify; the policy below ran on its unverified claims.');
    }
  }
  const decision = await policy.decideAsync(claims, { explain: true });
  const identity = decision.identity;
  const denial = decision.granted ? undefined : decision.denial;
  const explanation = decision.explanation;
  const mappingFailed = denial?.stage === 'mapping';
  const condition: PolicyExplanation['condition'] = {
    present: attributeCondition.trim() !== '',
    result: explanation
      ? explanation.result.ok
        ? explanation.result.value === true
          ? 'true'
          : explanation.result.value === false
            ? 'false'
            : 'not-bool'
        : 'error'
      : mappingFailed
        ? 'not-evaluated'
        : 'true',
    ...(explanation?.operator ? { operator: explanation.operator } : {}),
    clauses: (explanation?.clauses ?? []).map((c) => ({
      index: c.index,
      text: c.text,
      line: c.span.line,
      column: c.span.column,
      outcome: c.outcome,
      ...(c.message ? { message: c.message } : {}),
    })),
  };
  const mapping: PolicyExplanation['mapping'] = identity
    ? { ok: true, subject: identity.subject, groups: identity.groups, attributes: identity.attributes }
    : { ok: false, ...(denial ? { failedExpression: denial.expression, message: denial.reason } : {}) };
  const granted = verification.ok && decision.granted;
  const base = {
    provider: provider.name,
    granted,
    policyGranted: decision.granted,
    draft,
    verification,
    mapping,
    condition,
    warnings,
  };
  if (!identity) return { ...base, members: [], access: [] };
  const principal = principalOf(provider, identity.subject, universeDomain);
  const poolMember = `principalSet://iam.${universeDomain}/${formatPoolName(provider)}`;
  const members = [
    principal,
    `${poolMember}/*`,
    ...identity.groups.map((g) => `${poolMember}/group/${g}`),
    ...Object.entries(identity.attributes).map(([k, v]) => `${poolMember}/attribute.${k}/${v}`),
  ];
  const access: { permission: string; allowed: boolean }[] = [];
  if (request.resource && request.permissions) {
    const caller: Caller = {
      kind: 'federated',
      principal,
      federation: {
        pool: provider.poolName,
        subject: identity.subject,
        attributes: identity.attributes,
        groups: identity.groups,
      },
      credentialId: 'policy-explain',
      expiresAt: Number.MAX_SAFE_INTEGER,
    };
    for (const permission of request.permissions) {
      access.push({ permission, allowed: await authorizer.isAllowed(caller, permission, request.resource) });
    }
  }
  return { ...base, principal, members, access };
}

function warningsFor(condition: string): string[] {
  const warnings: string[] = [];
  if (/dbgstat\s*==\s*(['"])enable\1|(['"])enable\2\s*==\s*assertion\.dbgstat/.test(condition)) {
    warnings.push(
      'The condition compares dbgstat with "enable"; tokens carry "enabled" (debug) or "disabled-since-boot".',
    );
  }
  if (/size\(assertion\.submods\.container\.(cmd|env)_override\)/.test(condition)) {
    warnings.push('size() of a null override is an error (deny); compare with null first if tokens may carry null.');
  }
  return warnings;
}
