// Workload identity providers and the explain API: shapes, and calling it with a token or recorded claims.
import { get, pathOf, post } from './api.ts';

export interface Provider {
  readonly name: string;
  readonly displayName?: string;
  readonly state: string;
  readonly disabled: boolean;
  readonly attributeMapping: Record<string, string>;
  readonly attributeCondition?: string;
  readonly oidc: { readonly issuerUri: string; readonly allowedAudiences: readonly string[] };
}

export interface Pool {
  readonly name: string;
  readonly displayName?: string;
  readonly state: string;
  readonly disabled: boolean;
}

export interface Clause {
  readonly index: number;
  readonly text: string;
  readonly line: number;
  readonly column: number;
  readonly outcome: string;
  readonly message?: string;
}

export interface Explanation {
  readonly provider: string;
  readonly granted: boolean;
  readonly policyGranted: boolean;
  readonly draft: boolean;
  readonly verification: { readonly ok: boolean; readonly code?: string; readonly message?: string };
  readonly mapping: {
    readonly ok: boolean;
    readonly subject?: string;
    readonly attributes?: Record<string, string>;
    readonly groups?: readonly string[];
    readonly failedExpression?: string;
    readonly message?: string;
  };
  readonly condition: {
    readonly present: boolean;
    readonly result: string;
    readonly operator?: string;
    readonly clauses: readonly Clause[];
  };
  readonly principal?: string;
  readonly members: readonly string[];
  readonly access: readonly { readonly permission: string; readonly allowed: boolean }[];
  readonly warnings: readonly string[];
}

export type Evidence = { readonly subjectToken: string } | { readonly claims: Record<string, unknown> };

export interface Draft {
  readonly attributeCondition?: string;
  readonly attributeMapping?: Record<string, string>;
}

export async function explain(
  provider: string,
  evidence: Evidence,
  draft: Draft = {},
  access?: { resource: string; permissions: string[] },
): Promise<Explanation> {
  return post<Explanation>(`/v1/${pathOf(provider)}:explain`, { ...evidence, ...draft, ...(access ?? {}) });
}

export async function listPools(project: string): Promise<Pool[]> {
  return (
    (await get<{ workloadIdentityPools?: Pool[] }>(`/v1/projects/${project}/locations/global/workloadIdentityPools`))
      .workloadIdentityPools ?? []
  );
}

export async function listProviders(pool: string): Promise<Provider[]> {
  return (
    (await get<{ workloadIdentityPoolProviders?: Provider[] }>(`/v1/${pathOf(pool)}/providers`))
      .workloadIdentityPoolProviders ?? []
  );
}

/** `google.subject=assertion.sub` lines ↔ the mapping object (the first `=` splits; CEL has `==`). */
export function mappingToText(mapping: Record<string, string>): string {
  return Object.entries(mapping)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

export function textToMapping(text: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`A mapping line needs KEY=EXPRESSION: "${line.trim().slice(0, 80)}"`);
    mapping[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return mapping;
}
