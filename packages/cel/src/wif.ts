// Workload identity federation rules around CEL: mapping and condition limits, output types, error → deny.
import { type CelInput, type CelValue, isCelList } from '@bufbuild/cel';
import { CelPolicyError } from './errors.ts';
import { toCelInput } from './input.ts';
import { type CelExplanation, type CelProgram, compileCel } from './program.ts';
import type { SourceSpan } from './source.ts';

/** Limits of reference/gcp-compat.md §7. */
export const WIF_LIMITS = {
  conditionMaxChars: 4096,
  mappingMaxChars: 2048,
  subjectMaxBytes: 127,
  customAttributesMax: 50,
  attributeNameMaxChars: 100,
  mappedAttributesMaxBytes: 8192,
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
  /** The mapping key (e.g. `google.subject`) or `attributeCondition`. */
  readonly expression: string;
  readonly reason: string;
  readonly clause?: { readonly index: number; readonly text: string; readonly span: SourceSpan };
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
  /** Maps and checks `assertion` (decoded JWT claims). Never throws for bad claims: it denies. */
  decide(assertion: unknown, options?: { readonly explain?: boolean }): PolicyDecision;
}

/** Validates and compiles a provider's mapping and condition; throws CelPolicyError at config time. */
export function compileProviderPolicy(source: ProviderPolicySource): ProviderPolicy {
  const mapping = new Map<string, CelProgram>();
  let custom = 0;
  for (const [key, expression] of Object.entries(source.attributeMapping)) {
    if (key !== 'google.subject' && key !== 'google.groups') {
      if (!CUSTOM_KEY.test(key)) {
        throw new CelPolicyError('ERR_CEL_MAPPING_KEY', `attribute mapping key '${key}' is not allowed`);
      }
      custom++;
    }
    mapping.set(key, compileCel(expression, { maxLength: WIF_LIMITS.mappingMaxChars, label: `mapping ${key}` }));
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
  const condition =
    conditionText === ''
      ? undefined
      : compileCel(conditionText, { maxLength: WIF_LIMITS.conditionMaxChars, label: 'attributeCondition' });
  return { mapping, condition, decide: (assertion, options) => decide(mapping, condition, assertion, options) };
}

function decide(
  mapping: ReadonlyMap<string, CelProgram>,
  condition: CelProgram | undefined,
  assertion: unknown,
  options: { readonly explain?: boolean } = {},
): PolicyDecision {
  const input = toCelInput(assertion);
  const mapped = mapAttributes(mapping, input);
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
  const result = condition.evaluate(bindings);
  if (result.ok && result.value === true) {
    return options.explain
      ? { granted: true, identity, explanation: condition.explain(bindings) }
      : { granted: true, identity };
  }
  const explanation = condition.explain(bindings);
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
): { identity: MappedIdentity } | { denial: PolicyDenial } {
  const deny = (expression: string, reason: string) => ({
    denial: { stage: 'mapping' as const, expression, reason },
  });
  let subject: string | undefined;
  let groups: string[] = [];
  const attributes: Record<string, string> = {};
  let bytes = 0;
  for (const [key, program] of mapping) {
    const result = program.evaluate({ assertion });
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
