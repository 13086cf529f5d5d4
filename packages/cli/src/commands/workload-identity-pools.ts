// `sealroom iam workload-identity-pools …` and `sealroom policy explain`: pools, OIDC providers, policy explain.
import { readFileSync } from 'node:fs';
import { type OutputPolicy, decodeClaimsPayload, describeOutputPolicy, sealroomClaimsOf } from '@sealroom/core';
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { getIamPolicy } from '../iam-helpers.ts';

const LOCATION: FlagSpec = { type: 'string', description: "Location of the pool; only 'global' exists." };
const POOL_FLAG: FlagSpec = { type: 'string', description: 'Workload identity pool of the provider.', required: true };
const COMMON: Readonly<Record<string, FlagSpec>> = {
  location: LOCATION,
  'display-name': { type: 'string', description: 'Display name (≤ 32 characters).' },
  description: { type: 'string', description: 'Description (≤ 256 characters).' },
  disabled: { type: 'boolean', description: 'Disable it (--no-disabled enables it).' },
};
const OIDC_FLAGS: Readonly<Record<string, FlagSpec>> = {
  ...COMMON,
  'workload-identity-pool': POOL_FLAG,
  'issuer-uri': { type: 'string', description: 'OIDC issuer URI (a verifier).' },
  'allowed-audiences': { type: 'string', description: 'Comma-separated audiences the token may carry.' },
  'attribute-mapping': { type: 'string', description: 'KEY=CEL,… e.g. google.subject=assertion.sub.' },
  'attribute-condition': { type: 'string', description: 'CEL condition over assertion, google and attribute.' },
  'jwk-json-path': { type: 'string', description: 'File with a JWKS to use instead of the issuer discovery.' },
};

function poolsPath(ctx: CommandContext): string {
  const location = (ctx.flags.location as string | undefined) ?? 'global';
  return `/v1/projects/${encodeURIComponent(ctx.project())}/locations/${encodeURIComponent(location)}/workloadIdentityPools`;
}

function providersPath(ctx: CommandContext): string {
  return `${poolsPath(ctx)}/${encodeURIComponent(ctx.flags['workload-identity-pool'] as string)}/providers`;
}

/** Splits gcloud's `k=v,k2=v2` at commas outside quotes and brackets (CEL values contain both). */
export function parseDictFlag(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  for (const part of parts) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`Bad KEY=VALUE pair [${part.trim().slice(0, 40)}] in --attribute-mapping.`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function commonBody(ctx: CommandContext): Record<string, unknown> {
  return {
    ...(ctx.flags['display-name'] !== undefined ? { displayName: ctx.flags['display-name'] } : {}),
    ...(ctx.flags.description !== undefined ? { description: ctx.flags.description } : {}),
    ...(ctx.flags.disabled !== undefined ? { disabled: ctx.flags.disabled } : {}),
  };
}

/** The provider body and its update mask from the flags that were given. */
function oidcBody(ctx: CommandContext): { body: Record<string, unknown>; mask: string[] } {
  const body = commonBody(ctx);
  const mask = Object.keys(body);
  const oidc: Record<string, unknown> = {};
  if (ctx.flags['issuer-uri'] !== undefined) oidc.issuerUri = ctx.flags['issuer-uri'];
  if (ctx.flags['allowed-audiences'] !== undefined) {
    oidc.allowedAudiences = String(ctx.flags['allowed-audiences'])
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
  }
  const jwkPath = ctx.flags['jwk-json-path'] as string | undefined;
  if (jwkPath !== undefined) oidc.jwksJson = readFileSync(jwkPath, 'utf8');
  for (const key of Object.keys(oidc)) mask.push(`oidc.${key}`);
  if (Object.keys(oidc).length > 0) body.oidc = oidc;
  if (ctx.flags['attribute-mapping'] !== undefined) {
    body.attributeMapping = parseDictFlag(ctx.flags['attribute-mapping'] as string);
    mask.push('attributeMapping');
  }
  if (ctx.flags['attribute-condition'] !== undefined) {
    body.attributeCondition = ctx.flags['attribute-condition'];
    mask.push('attributeCondition');
  }
  return { body, mask };
}

/** Operations finish at once; print the resource as gcloud does after waiting. */
function resultOf(operation: { response?: Record<string, unknown> }): unknown {
  const { '@type': _type, ...resource } = operation.response ?? {};
  return resource;
}

export const workloadIdentityPoolCommands: CommandSpec[] = [
  {
    path: ['iam', 'workload-identity-pools', 'create'],
    summary: 'Creates a workload identity pool.',
    args: [{ name: 'POOL', required: true }],
    flags: COMMON,
    async run(ctx) {
      const op = await ctx.api.request('POST', poolsPath(ctx), {
        query: { workloadIdentityPoolId: ctx.args.POOL as string },
        body: commonBody(ctx),
      });
      ctx.err(`Created workload identity pool [${ctx.args.POOL}].`);
      return resultOf(op);
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'describe'],
    summary: 'Shows a workload identity pool.',
    args: [{ name: 'POOL', required: true }],
    flags: { location: LOCATION },
    run: (ctx) => ctx.api.request('GET', `${poolsPath(ctx)}/${encodeURIComponent(ctx.args.POOL as string)}`),
  },
  {
    path: ['iam', 'workload-identity-pools', 'list'],
    summary: 'Lists workload identity pools.',
    defaultFormat: 'table(name.basename():label=POOL, state, displayName:label=DISPLAY_NAME)',
    flags: { location: LOCATION, 'show-deleted': { type: 'boolean', description: 'Include deleted pools.' } },
    async run(ctx) {
      const query = ctx.flags['show-deleted'] ? { showDeleted: 'true' } : {};
      const result = await ctx.api.request<{ workloadIdentityPools?: unknown[] }>('GET', poolsPath(ctx), { query });
      return result.workloadIdentityPools ?? [];
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'update'],
    summary: 'Updates a workload identity pool.',
    args: [{ name: 'POOL', required: true }],
    flags: COMMON,
    async run(ctx) {
      const body = commonBody(ctx);
      const op = await ctx.api.request('PATCH', `${poolsPath(ctx)}/${encodeURIComponent(ctx.args.POOL as string)}`, {
        query: { updateMask: Object.keys(body).join(',') },
        body,
      });
      ctx.err(`Updated workload identity pool [${ctx.args.POOL}].`);
      return resultOf(op);
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'delete'],
    summary: 'Deletes a workload identity pool (undelete within 30 days).',
    args: [{ name: 'POOL', required: true }],
    flags: { location: LOCATION },
    async run(ctx) {
      await ctx.api.request('DELETE', `${poolsPath(ctx)}/${encodeURIComponent(ctx.args.POOL as string)}`);
      ctx.err(`Deleted workload identity pool [${ctx.args.POOL}].`);
      return undefined;
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'undelete'],
    summary: 'Restores a deleted workload identity pool.',
    args: [{ name: 'POOL', required: true }],
    flags: { location: LOCATION },
    async run(ctx) {
      const path = `${poolsPath(ctx)}/${encodeURIComponent(ctx.args.POOL as string)}:undelete`;
      return resultOf(await ctx.api.request('POST', path, { body: {} }));
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'providers', 'create-oidc'],
    summary: 'Creates an OIDC provider in a workload identity pool.',
    args: [{ name: 'PROVIDER', required: true }],
    flags: OIDC_FLAGS,
    async run(ctx) {
      const op = await ctx.api.request('POST', providersPath(ctx), {
        query: { workloadIdentityPoolProviderId: ctx.args.PROVIDER as string },
        body: oidcBody(ctx).body,
      });
      ctx.err(`Created workload identity pool provider [${ctx.args.PROVIDER}].`);
      return resultOf(op);
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'providers', 'update-oidc'],
    summary: 'Updates an OIDC provider; only the given flags change.',
    args: [{ name: 'PROVIDER', required: true }],
    flags: OIDC_FLAGS,
    async run(ctx) {
      const { body, mask } = oidcBody(ctx);
      if (mask.length === 0) throw new UsageError('Give at least one field to update.');
      const path = `${providersPath(ctx)}/${encodeURIComponent(ctx.args.PROVIDER as string)}`;
      const op = await ctx.api.request('PATCH', path, { query: { updateMask: mask.join(',') }, body });
      ctx.err(`Updated workload identity pool provider [${ctx.args.PROVIDER}].`);
      return resultOf(op);
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'providers', 'describe'],
    summary: 'Shows a workload identity pool provider.',
    args: [{ name: 'PROVIDER', required: true }],
    flags: { location: LOCATION, 'workload-identity-pool': POOL_FLAG },
    run: (ctx) => ctx.api.request('GET', `${providersPath(ctx)}/${encodeURIComponent(ctx.args.PROVIDER as string)}`),
  },
  {
    path: ['iam', 'workload-identity-pools', 'providers', 'list'],
    summary: 'Lists the providers of a workload identity pool.',
    defaultFormat: 'table(name.basename():label=PROVIDER, state, oidc.issuerUri:label=ISSUER_URI)',
    flags: {
      location: LOCATION,
      'workload-identity-pool': POOL_FLAG,
      'show-deleted': { type: 'boolean', description: 'Include deleted providers.' },
    },
    async run(ctx) {
      const query = ctx.flags['show-deleted'] ? { showDeleted: 'true' } : {};
      const result = await ctx.api.request<{ workloadIdentityPoolProviders?: unknown[] }>('GET', providersPath(ctx), {
        query,
      });
      return result.workloadIdentityPoolProviders ?? [];
    },
  },
  {
    path: ['iam', 'workload-identity-pools', 'providers', 'delete'],
    summary: 'Deletes a workload identity pool provider.',
    args: [{ name: 'PROVIDER', required: true }],
    flags: { location: LOCATION, 'workload-identity-pool': POOL_FLAG },
    async run(ctx) {
      await ctx.api.request('DELETE', `${providersPath(ctx)}/${encodeURIComponent(ctx.args.PROVIDER as string)}`);
      ctx.err(`Deleted workload identity pool provider [${ctx.args.PROVIDER}].`);
      return undefined;
    },
  },
  {
    path: ['policy', 'explain'],
    summary: "Runs a provider's mapping and condition on a token and shows, clause by clause, what held.",
    flags: {
      provider: {
        type: 'string',
        required: true,
        description:
          'Provider: projects/N/locations/global/workloadIdentityPools/P/providers/X, or X with --workload-identity-pool.',
      },
      'workload-identity-pool': { type: 'string', description: 'Pool of a short --provider name.' },
      location: LOCATION,
      token: { type: 'string', required: true, description: 'File holding the token (JWT).' },
      resource: {
        type: 'string',
        description: 'Resource name whose IAM bindings (and --permissions) are checked for the principal.',
      },
      permissions: { type: 'string', description: 'Comma-separated permissions to test on --resource.' },
    },
    async run(ctx) {
      const provider = ctx.flags.provider as string;
      const path = provider.startsWith('projects/')
        ? `/v1/${provider}`
        : `${providersPath(ctx)}/${encodeURIComponent(provider)}`;
      const permissions = ctx.flags.permissions
        ? String(ctx.flags.permissions)
            .split(',')
            .map((p) => p.trim())
        : [];
      const explanation = await ctx.api.request<Explanation>('POST', `${path}:explain`, {
        body: {
          subjectToken: readFileSync(ctx.flags.token as string, 'utf8').trim(),
          ...(ctx.flags.resource ? { resource: ctx.flags.resource, permissions } : {}),
        },
      });
      if (ctx.flags.resource && explanation.members.length > 0) {
        // The bindings on the resource whose member is one of the forms this principal matches.
        const policy = await getIamPolicy(ctx.api, `/v1/${ctx.flags.resource as string}`);
        explanation.bindings = (policy.bindings ?? []).flatMap((b) =>
          b.members.filter((m) => explanation.members.includes(m)).map((member) => ({ role: b.role, member })),
        );
      }
      explanation.outputPolicy = outputPolicySection(readFileSync(ctx.flags.token as string, 'utf8'), explanation);
      if (ctx.flags.format) return explanation;
      printExplanation(ctx, explanation);
      return undefined;
    },
  },
];

interface Explanation {
  granted: boolean;
  verification: { ok: boolean; code?: string; message?: string };
  mapping: { ok: boolean; subject?: string; attributes?: Record<string, string>; message?: string };
  condition: {
    present: boolean;
    result: string;
    clauses: { text: string; line: number; column: number; outcome: string; message?: string }[];
  };
  principal?: string;
  members: string[];
  access: { permission: string; allowed: boolean }[];
  warnings: string[];
  bindings?: { role: string; member: string }[];
  outputPolicy?: OutputPolicySection;
}

/** What the token says results may release, and which clauses of the condition hold it to that. */
interface OutputPolicySection {
  policy?: OutputPolicy;
  digest?: string;
  description: string;
  /** The condition's clauses that name the output policy, with their outcome on this token. */
  clauses: Explanation['condition']['clauses'];
}

/**
 * The output policy of the token (submods.sealroom, read from the measured image config by the verifier),
 * and the condition's clauses about it: what this provider's condition accepts for the results.
 */
export function outputPolicySection(token: string, explanation: Pick<Explanation, 'condition'>): OutputPolicySection {
  let policy: OutputPolicy | undefined;
  let digest: string | undefined;
  try {
    // Through the claims contract, leniently: explaining a token that breaks it is the point.
    const sealroom = sealroomClaimsOf(decodeClaimsPayload(token));
    policy = sealroom?.policy;
    digest = sealroom?.digest;
  } catch {
    // An unreadable token is reported by the verification line already.
  }
  return {
    ...(policy
      ? { policy, description: describeOutputPolicy(policy) }
      : { description: 'the token carries no output policy' }),
    ...(digest ? { digest } : {}),
    clauses: explanation.condition.clauses.filter((c) => /\bsubmods\.sealroom\b|output_policy/.test(c.text)),
  };
}

function printExplanation(ctx: CommandContext, e: Explanation): void {
  const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  ctx.out(
    `token verification: ${mark(e.verification.ok)}${e.verification.ok ? '' : ` (${e.verification.code}: ${e.verification.message})`}`,
  );
  ctx.out(`attribute mapping:  ${mark(e.mapping.ok)}${e.mapping.ok ? '' : ` (${e.mapping.message})`}`);
  if (e.mapping.subject) ctx.out(`  google.subject = ${e.mapping.subject}`);
  for (const [k, v] of Object.entries(e.mapping.attributes ?? {})) ctx.out(`  attribute.${k} = ${v}`);
  ctx.out(`attribute condition: ${e.condition.present ? e.condition.result.toUpperCase() : 'none (accepts all)'}`);
  for (const c of e.condition.clauses) {
    const label = c.outcome === 'true' ? 'PASS' : c.outcome === 'false' ? 'FAIL' : c.outcome.toUpperCase();
    ctx.out(`  [${label}] ${c.line}:${c.column}  ${c.text}${c.message ? `  — ${c.message}` : ''}`);
  }
  ctx.out(`result: ${e.granted ? 'GRANTED' : 'DENIED'}`);
  if (e.principal) ctx.out(`principal: ${e.principal}`);
  for (const m of e.members) ctx.out(`  matches member ${m}`);
  for (const b of e.bindings ?? []) ctx.out(`  binding ${b.role} via ${b.member}`);
  if (e.bindings && e.bindings.length === 0) ctx.out('  no binding on the resource names this principal');
  for (const a of e.access) ctx.out(`  ${a.allowed ? 'ALLOWED' : 'DENIED '} ${a.permission}`);
  const o = e.outputPolicy;
  if (o) {
    ctx.out(`output policy: ${o.description}`);
    if (o.digest) ctx.out(`  digest ${o.digest}`);
    for (const c of o.clauses) {
      const label = c.outcome === 'true' ? 'PASS' : c.outcome === 'false' ? 'FAIL' : c.outcome.toUpperCase();
      ctx.out(`  your condition requires [${label}] ${c.text}`);
    }
    if (o.clauses.length === 0) {
      ctx.out('WARNING: the condition does not constrain the output policy: it accepts any image policy, or none.');
    }
  }
  for (const w of e.warnings) ctx.out(`WARNING: ${w}`);
}
