// Workload identity federation rules around CEL: mapping and condition limits, output types, error → deny, cost.
import { type CelInput, type CelValue, isCelList } from '@bufbuild/cel';
import { CelPolicyError } from './errors.ts';
import { toCelInput } from './input.ts';
import { CEL_COST_LIMITS } from './limits.ts';
import { CostMeter } from './meter.ts';
import { CEL_OFFLOAD_LIMITS, sharedCelWorkerPool } from './offload.ts';
import { type CelEvaluation, type CelExplanation, type CelProgram, compileCel } from './program.ts';
import { joinShapes, jsonShape, listShape, mapShape, type Shape, stringShape } from './shape.ts';
import type { SourceSpan } from './source.ts';

/** Google's limits on workload identity pool providers (docs/cel.md, "WIF rules"). */
export const WIF_LIMITS = {
  conditionMaxChars: 4096,
  mappingMaxChars: 2048,
  subjectMaxBytes: 127,
  customAttributesMax: 50,
  attributeNameMaxChars: 100,
  mappedAttributesMaxBytes: 8192,
  /** Largest claims JSON (characters) a decision reads; the cost estimate relies on it. */
  assertionMaxChars: 16384,
} as const;

const CUSTOM_KEY = /^attribute\.([a-z0-9_]{1,100})$/;

export interface ProviderPolicySource {
  /** `google.subject`, `google.groups`, `attribute.NAME` → CEL over `assertion`. */
  readonly attributeMapping: Readonly<Record<string, string>>;
  /** CEL over `assertion`, `google` and `attribute`; empty or absent accepts every credential. */
  readonly attributeCondition?: string | undefined;
}

export interface MappedIdentity {
  readonly subject: string;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string>>;
}

/** Why a token was refused: which step, which expression, and the clause that failed if known. */
export interface PolicyDenial {
  readonly stage: 'mapping' | 'condition';
  /** The mapping key (e.g. `google.subject`), `attributeCondition`, or `assertion` for oversized claims. */
  readonly expression: string;
  readonly reason: string;
  readonly clause?: { readonly index: number; readonly text: string; readonly span: SourceSpan };
  /** Set when the decision was aborted at its runtime cost limit. */
  readonly code?: 'ERR_CEL_COST_LIMIT';
}

export type PolicyDecision =
  | { readonly granted: true; readonly identity: MappedIdentity; readonly explanation?: CelExplanation }
  | {
      readonly granted: false;
      readonly denial: PolicyDenial;
      readonly identity?: MappedIdentity;
      readonly explanation?: CelExplanation;
    };

export interface ProviderPolicy {
  readonly mapping: ReadonlyMap<string, CelProgram>;
  readonly condition: CelProgram | undefined;
  /** Upper bound on the cost of one decision (all mapping expressions and the condition). */
  readonly estimatedCost: number;
  /**
   * Maps and checks `assertion` (decoded JWT claims). Never throws for bad claims: it denies. The
   * whole decision, explanation included, runs on one meter of CEL_COST_LIMITS.runtime units.
   */
  decide(assertion: unknown, options?: { readonly explain?: boolean }): PolicyDecision;
  /**
   * The same decision, on this thread when `estimatedCost` is within CEL_OFFLOAD_LIMITS.inlineCost
   * (a few milliseconds at most). A policy whose worst case is costlier is first tried on this thread
   * under a meter of CEL_OFFLOAD_LIMITS.inlineCost units: a grant there is final (evaluation is pure, so
   * a larger budget would grant the same). A decision that ran out of that budget, a refusal, or an
   * explanation goes to the shared CEL worker pool under the full runtime limit, so a costly policy
   * never stalls the event loop. From the pool, a non-bool result in an explanation reads as null, and a
   * decision cut off at the pool's deadline is a denial with code ERR_CEL_COST_LIMIT. Rejects only
   * with ERR_CEL_BUSY (too many evaluations waiting).
   */
  decideAsync(assertion: unknown, options?: { readonly explain?: boolean }): Promise<PolicyDecision>;
}

export interface CompileProviderPolicyOptions {
  /**
   * Refuse a policy whose estimated cost is above this (ERR_CEL_COST_ESTIMATE); default
   * CEL_COST_LIMITS.estimated. A policy already stored is compiled with Infinity: a tighter
   * limit must not lock out an existing provider, and the runtime limit still bounds it.
   */
  readonly estimatedCostLimit?: number;
}

/** What the mapping expressions read: the claims, at most WIF_LIMITS.assertionMaxChars of JSON. */
const MAPPING_VARIABLES: Readonly<Record<string, Shape>> = { assertion: jsonShape(WIF_LIMITS.assertionMaxChars) };

/** What the condition reads besides the claims: the mapped identity, within the WIF limits. */
function conditionVariables(groups: number): Readonly<Record<string, Shape>> {
  const value = stringShape(WIF_LIMITS.mappedAttributesMaxBytes);
  return {
    ...MAPPING_VARIABLES,
    google: mapShape(2, joinShapes(stringShape(WIF_LIMITS.subjectMaxBytes), listShape(groups, value)) ?? value),
    attribute: mapShape(WIF_LIMITS.customAttributesMax, value),
  };
}

/**
 * Validates and compiles a provider's mapping and condition; throws CelPolicyError at config time.
 *
 * @example
 * ```ts
 * const policy = compileProviderPolicy({
 *   attributeMapping: {
 *     'google.subject': 'assertion.sub',
 *     'attribute.image_digest': 'assertion.submods.container.image_digest',
 *   },
 *   attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
 * });
 * const decision = policy.decide(claims); // the decoded, already verified token payload
 * if (decision.granted) decision.identity.attributes.image_digest;
 * else decision.denial.reason;
 * ```
 */
export function compileProviderPolicy(
  source: ProviderPolicySource,
  options: CompileProviderPolicyOptions = {},
): ProviderPolicy {
  const limit = options.estimatedCostLimit ?? CEL_COST_LIMITS.estimated;
  const mapping = new Map<string, CelProgram>();
  let custom = 0;
  for (const [key, expression] of Object.entries(source.attributeMapping)) {
    if (key !== 'google.subject' && key !== 'google.groups') {
      if (!CUSTOM_KEY.test(key)) {
        throw new CelPolicyError('ERR_CEL_MAPPING_KEY', `attribute mapping key '${key}' is not allowed`);
      }
      custom++;
    }
    mapping.set(
      key,
      compileCel(expression, {
        maxLength: WIF_LIMITS.mappingMaxChars,
        label: `mapping ${key}`,
        variables: MAPPING_VARIABLES,
        estimatedCostLimit: limit,
      }),
    );
  }
  if (!mapping.has('google.subject')) {
    throw new CelPolicyError('ERR_CEL_MAPPING_LIMIT', 'attribute mapping must define google.subject');
  }
  if (custom > WIF_LIMITS.customAttributesMax) {
    throw new CelPolicyError(
      'ERR_CEL_MAPPING_LIMIT',
      `attribute mapping has ${custom} custom attributes; the limit is ${WIF_LIMITS.customAttributesMax}`,
    );
  }
  const conditionText = source.attributeCondition?.trim() ?? '';
  const groups = mapping.get('google.groups')?.estimate.shape.items ?? 0;
  const condition =
    conditionText === ''
      ? undefined
      : compileCel(conditionText, {
          maxLength: WIF_LIMITS.conditionMaxChars,
          label: 'attributeCondition',
          variables: conditionVariables(groups),
          estimatedCostLimit: limit,
        });
  let estimatedCost = condition?.estimate.cost ?? 0;
  for (const program of mapping.values()) estimatedCost += program.estimate.cost;
  if (!(estimatedCost <= limit)) {
    const shown = Number.isFinite(estimatedCost) ? String(Math.ceil(estimatedCost)) : 'unbounded';
    throw new CelPolicyError(
      'ERR_CEL_COST_ESTIMATE',
      `attributeMapping and attributeCondition together have an estimated worst-case cost of ${shown}, above the limit of ${limit}`,
    );
  }
  const policySource: ProviderPolicySource = {
    attributeMapping: { ...source.attributeMapping },
    ...(conditionText === '' ? {} : { attributeCondition: conditionText }),
  };
  return {
    mapping,
    condition,
    estimatedCost,
    decide: (assertion, decideOptions) => decide(mapping, condition, assertion, decideOptions),
    decideAsync: async (assertion, decideOptions = {}) => {
      if (estimatedCost <= CEL_OFFLOAD_LIMITS.inlineCost) return decide(mapping, condition, assertion, decideOptions);
      // Real claims cost a small part of the worst case: a worker hop per decision made the exchange wait on
      // a thread the OS schedules at a lower priority. Refusals keep the full budget for their explanation.
      if (decideOptions.explain !== true) {
        const inline = decide(mapping, condition, assertion, { costLimit: CEL_OFFLOAD_LIMITS.inlineCost });
        if (inline.granted) return inline;
      }
      return sharedCelWorkerPool().decide(policySource, assertion, decideOptions);
    },
  };
}

function costDenial(stage: PolicyDenial['stage'], expression: string, result: CelEvaluation): PolicyDenial | undefined {
  if (result.ok || result.code !== 'ERR_CEL_COST_LIMIT') return undefined;
  const what = stage === 'mapping' ? `mapping ${expression}` : 'the attribute condition';
  return { stage, expression, reason: `${what} exceeded the evaluation cost limit`, code: 'ERR_CEL_COST_LIMIT' };
}

function decide(
  mapping: ReadonlyMap<string, CelProgram>,
  condition: CelProgram | undefined,
  assertion: unknown,
  options: { readonly explain?: boolean; readonly costLimit?: number } = {},
): PolicyDecision {
  // The cost estimate assumes claims of bounded size; larger ones are refused before any CEL runs.
  const chars = JSON.stringify(assertion ?? null).length;
  if (chars > WIF_LIMITS.assertionMaxChars) {
    return {
      granted: false,
      denial: {
        stage: 'mapping',
        expression: 'assertion',
        reason: `the token's claims take ${chars} characters of JSON; the limit is ${WIF_LIMITS.assertionMaxChars}`,
      },
    };
  }
  const meter = new CostMeter(Math.min(options.costLimit ?? CEL_COST_LIMITS.runtime, CEL_COST_LIMITS.runtime));
  const input = toCelInput(assertion);
  const mapped = mapAttributes(mapping, input, meter);
  if ('denial' in mapped) return { granted: false, denial: mapped.denial };
  const identity = mapped.identity;
  if (condition === undefined) return { granted: true, identity };
  const attribute = new Map<string, CelInput>(Object.entries(identity.attributes));
  const google = new Map<string, CelInput>([
    ['subject', identity.subject],
    ['groups', [...identity.groups]],
  ]);
  const bindings = { assertion: input, google, attribute };
  // An explanation evaluates each clause again; only pay for it on refusal or when asked.
  const result = condition.evaluate(bindings, { meter });
  if (result.ok && result.value === true) {
    return options.explain
      ? { granted: true, identity, explanation: condition.explain(bindings, { meter }) }
      : { granted: true, identity };
  }
  const overBudget = costDenial('condition', 'attributeCondition', result);
  // An aborted decision has no budget left to explain it clause by clause.
  if (overBudget) {
    return { granted: false, denial: overBudget, identity, explanation: { result, operator: undefined, clauses: [] } };
  }
  const explanation = condition.explain(bindings, { meter });
  const failing =
    explanation.operator === '||' ? undefined : explanation.clauses.find((clause) => clause.outcome !== 'true');
  const reason = result.ok
    ? result.value === false
      ? 'the attribute condition is false'
      : 'the attribute condition did not return a bool'
    : `the attribute condition failed to evaluate: ${result.message}`;
  const denial: PolicyDenial = failing
    ? {
        stage: 'condition',
        expression: 'attributeCondition',
        reason,
        clause: { index: failing.index, text: failing.text, span: failing.span },
      }
    : { stage: 'condition', expression: 'attributeCondition', reason };
  return { granted: false, denial, identity, explanation };
}

function mapAttributes(
  mapping: ReadonlyMap<string, CelProgram>,
  assertion: CelInput,
  meter: CostMeter,
): { identity: MappedIdentity } | { denial: PolicyDenial } {
  const deny = (expression: string, reason: string) => ({
    denial: { stage: 'mapping' as const, expression, reason },
  });
  let subject: string | undefined;
  let groups: string[] = [];
  const attributes: Record<string, string> = {};
  let bytes = 0;
  for (const [key, program] of mapping) {
    const result = program.evaluate({ assertion }, { meter });
    const overBudget = costDenial('mapping', key, result);
    if (overBudget) return { denial: overBudget };
    if (!result.ok) return deny(key, `mapping ${key} failed to evaluate: ${result.message}`);
    const value: CelValue = result.value;
    if (key === 'google.groups') {
      const list = toStringList(value);
      if (list === undefined) return deny(key, 'mapping google.groups must return a list of strings');
      groups = list;
      bytes += list.reduce((sum, g) => sum + Buffer.byteLength(g), 0);
      continue;
    }
    if (key === 'google.subject') {
      if (typeof value !== 'string') return deny(key, 'mapping google.subject must return a string');
      const size = Buffer.byteLength(value);
      if (size > WIF_LIMITS.subjectMaxBytes || size === 0) {
        return deny(key, `google.subject is ${size} bytes; it must be 1 to ${WIF_LIMITS.subjectMaxBytes}`);
      }
      subject = value;
      bytes += size;
      continue;
    }
    // A custom attribute that maps to null is simply not set (the claim was null).
    if (value === null) continue;
    if (typeof value !== 'string') return deny(key, `mapping ${key} must return a string`);
    const name = key.slice('attribute.'.length);
    attributes[name] = value;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > WIF_LIMITS.mappedAttributesMaxBytes) {
    return deny('attributeMapping', `mapped attributes take ${bytes} bytes; the limit is 8192`);
  }
  if (subject === undefined) return deny('google.subject', 'mapping google.subject is missing');
  return { identity: { subject, groups, attributes } };
}

function toStringList(value: CelValue): string[] | undefined {
  if (!isCelList(value)) return undefined;
  const out: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') return undefined;
    out.push(item);
  }
  return out;
}
