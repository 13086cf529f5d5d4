// Runs the CEL conformance suite shipped in @bufbuild/cel-spec (cel-spec v0.25.1) through Sealroom's environment.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type CelInput, celUint, isCelError, isCelList, isCelMap, isCelUint } from '@bufbuild/cel';
import { tests } from '@bufbuild/cel-spec/testdata/conformance.js';
import { KNOWN_DEVIATIONS } from './conformance-deviations.ts';
import { compileCel } from './program.ts';

const FILES = ['basic', 'comparisons', 'conversions', 'fields', 'lists', 'logic', 'macros', 'plumbing', 'string'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const NOT_APPLICABLE = Symbol('n/a');

/** Proto-JSON `cel.expr.Value` → CEL input; NOT_APPLICABLE for protobuf messages, enums and types. */
function fromValue(value: JsonObject): CelInput | typeof NOT_APPLICABLE {
  if ('int64Value' in value) return BigInt(value.int64Value as string);
  if ('uint64Value' in value) return celUint(BigInt(value.uint64Value as string));
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('stringValue' in value) return value.stringValue as string;
  if ('boolValue' in value) return value.boolValue as boolean;
  if ('nullValue' in value) return null;
  if ('bytesValue' in value) return new Uint8Array(Buffer.from(value.bytesValue as string, 'base64'));
  if ('listValue' in value) {
    const out: CelInput[] = [];
    for (const item of ((value.listValue as JsonObject).values as JsonObject[] | undefined) ?? []) {
      const converted = fromValue(item);
      if (converted === NOT_APPLICABLE) return NOT_APPLICABLE;
      out.push(converted);
    }
    return out;
  }
  if ('mapValue' in value) {
    const map = new Map<never, CelInput>();
    for (const entry of ((value.mapValue as JsonObject).entries as JsonObject[] | undefined) ?? []) {
      const key = fromValue(entry.key as JsonObject);
      const item = fromValue(entry.value as JsonObject);
      if (key === NOT_APPLICABLE || item === NOT_APPLICABLE) return NOT_APPLICABLE;
      map.set(key as never, item);
    }
    return map as unknown as CelInput;
  }
  if (Object.keys(value).length === 0) return null;
  return NOT_APPLICABLE;
}

/** Strict CEL value equality for checking results: types must agree (1 is not 1.0), NaN equals NaN. */
function sameValue(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number') {
    return typeof actual === 'number' && (Object.is(actual, expected) || actual === expected);
  }
  if (typeof expected !== 'object' || expected === null) return actual === expected;
  if (isCelUint(expected)) return isCelUint(actual) && actual.value === expected.value;
  if (expected instanceof Uint8Array) return actual instanceof Uint8Array && Buffer.from(actual).equals(expected);
  if (Array.isArray(expected)) {
    if (!isCelList(actual) || actual.size !== expected.length) return false;
    return expected.every((item, i) => sameValue(actual.get(i), item));
  }
  if (expected instanceof Map) {
    if (!isCelMap(actual) || actual.size !== expected.size) return false;
    for (const [key, item] of expected) {
      const lookup = isCelUint(key) ? key : key;
      if (!sameValue(actual.get(lookup as never), item)) return false;
    }
    return true;
  }
  return false;
}

type Outcome = 'pass' | 'fail' | 'n/a';

function runCase(test: JsonObject): Outcome {
  if (test.disableMacros || test.checkOnly || test.container || test.unknown || test.anyUnknowns) return 'n/a';
  const bindings: Record<string, CelInput> = {};
  for (const [name, bound] of Object.entries((test.bindings as JsonObject | undefined) ?? {})) {
    const converted = fromValue(((bound as JsonObject).value ?? {}) as JsonObject);
    if (converted === NOT_APPLICABLE) return 'n/a';
    bindings[name] = converted;
  }
  const typed = test.typedResult as JsonObject | undefined;
  const expectedValue = (test.value ?? typed?.result) as JsonObject | undefined;
  const expectError = test.evalError !== undefined || test.anyEvalErrors !== undefined;
  let expected: CelInput | typeof NOT_APPLICABLE = true;
  if (expectedValue !== undefined) expected = fromValue(expectedValue);
  if (expected === NOT_APPLICABLE) return 'n/a';
  let program: ReturnType<typeof compileCel>;
  try {
    program = compileCel(test.expr as string);
  } catch {
    return expectError ? 'pass' : 'fail';
  }
  const result = program.evaluate(bindings);
  if (expectError) return result.ok ? 'fail' : 'pass';
  return result.ok && !isCelError(result.value) && sameValue(result.value, expected) ? 'pass' : 'fail';
}

it('passes the CEL conformance suite except the listed deviations', (t) => {
  const failures: string[] = [];
  let passed = 0;
  let skipped = 0;
  for (const file of tests.suites ?? []) {
    if (!FILES.includes(file.name)) continue;
    for (const section of file.suites ?? []) {
      for (const test of section.tests ?? []) {
        const outcome = runCase(test.original as unknown as JsonObject);
        const id = `${file.name}/${section.name}/${test.original.name ?? test.original.expr}`;
        if (outcome === 'pass') passed++;
        else if (outcome === 'n/a') skipped++;
        else failures.push(id);
      }
    }
  }
  const total = passed + failures.length;
  t.diagnostic(
    `CEL conformance: ${passed}/${total} passed (${((100 * passed) / total).toFixed(1)} %), ${skipped} not applicable (protobuf messages, containers, unknowns, disabled macros)`,
  );
  const unlisted = failures.filter((id) => !(id in KNOWN_DEVIATIONS));
  const fixed = Object.keys(KNOWN_DEVIATIONS).filter((id) => !failures.includes(id));
  assert.deepEqual(unlisted, [], 'conformance cases that fail but are not listed as known deviations');
  assert.deepEqual(fixed, [], 'known deviations that now pass: remove them from conformance-deviations.ts');
  assert.ok(total > 500, `only ${total} runnable cases: the suite did not load`);
});
