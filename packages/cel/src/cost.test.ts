// The CEL cost budget: the static estimate refuses what could run long, the meter aborts what runs past the limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toCelInput } from './input.ts';
import { CEL_COST_LIMITS } from './limits.ts';
import { CostMeter } from './meter.ts';
import { compileCel } from './program.ts';
import { jsonShape } from './shape.ts';

const DIGITS = '[0,1,2,3,4,5,6,7,8,9]';
/** The denial of service: six nested comprehensions over ten items (188 characters). */
const NESTED_COMPREHENSION = `${DIGITS}.all(a,${DIGITS}.all(b,${DIGITS}.all(c,${DIGITS}.all(d,${DIGITS}.all(e,${DIGITS}.all(f,a+b+c+d+e+f>=0))))))`;

const CLAIMS = jsonShape(1024);
const compileOver = (source: string, limits: { estimated?: number; runtime?: number } = {}) =>
  compileCel(source, {
    variables: { a: CLAIMS },
    ...(limits.estimated === undefined ? {} : { estimatedCostLimit: limits.estimated }),
    ...(limits.runtime === undefined ? {} : { runtimeCostLimit: limits.runtime }),
  });

describe('the static cost estimate', () => {
  it("refuses the issue's nested comprehension when it is compiled for storage, naming the estimate and the limit", () => {
    assert.ok(NESTED_COMPREHENSION.length < 240);
    assert.throws(
      () => compileCel(NESTED_COMPREHENSION, { estimatedCostLimit: CEL_COST_LIMITS.estimated }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CEL_COST_ESTIMATE');
        assert.match(error.message, /estimated worst-case cost of \d{8,}, above the limit of 1000000/);
        return true;
      },
    );
  });

  it('is exact for loops over literal lists, so a cheaper nesting is admitted', () => {
    const program = compileCel(`${DIGITS}.all(a, ${DIGITS}.all(b, a + b >= 0))`);
    const meter = new CostMeter(Number.POSITIVE_INFINITY);
    assert.deepEqual(program.evaluate({}, { meter }), { ok: true, value: true });
    assert.ok(program.estimate.cost < CEL_COST_LIMITS.estimated);
    assert.ok(meter.spent > 0 && meter.spent <= program.estimate.cost);
  });

  it('grows with the declared size of the input, and is unbounded for an undeclared one', () => {
    const small = compileCel('a.l.exists(x, x == 1)', { variables: { a: jsonShape(100) } }).estimate.cost;
    const large = compileCel('a.l.exists(x, x == 1)', { variables: { a: jsonShape(10_000) } }).estimate.cost;
    assert.ok(large > 50 * small, `${small} → ${large}`);
    assert.equal(compileCel('b.l.exists(x, x == 1)').estimate.cost, Number.POSITIVE_INFINITY);
    assert.throws(() => compileCel('b.l.exists(x, x == 1)', { estimatedCostLimit: 1e6 }), /no bounded cost estimate/);
  });

  it('counts a loop over a loop over the same claim list as quadratic, and one pass as linear', () => {
    const claims = jsonShape(16_384);
    const once = compileCel("a.l.exists(x, x == 'k')", { variables: { a: claims } }).estimate.cost;
    const twice = compileCel('a.l.exists(x, a.l.exists(y, x == y))', { variables: { a: claims } }).estimate.cost;
    assert.ok(once < 400_000, String(once));
    assert.ok(twice > 100 * once, String(twice));
  });

  it('charges a constant pattern by its program size, not its length', () => {
    const short = compileOver("a.s.matches('^(a|b)$')").estimate.cost;
    const expanded = compileOver("a.s.matches('^(a|b){1000}$')").estimate.cost;
    assert.ok(expanded > 100 * short, `${short} → ${expanded}`);
  });

  it('refuses a pattern too large to compile within the limit instead of compiling it', () => {
    const pattern = `(${'abcdefghij'.repeat(100)}){1000}`;
    assert.throws(() => compileCel(`'x'.matches('${pattern}')`, { estimatedCostLimit: 1e6 }), {
      code: 'ERR_CEL_COST_ESTIMATE',
    });
  });
});

describe('the runtime cost meter', () => {
  it('aborts an evaluation at the runtime limit and says so with ERR_CEL_COST_LIMIT', () => {
    const result = compileCel(NESTED_COMPREHENSION, { runtimeCostLimit: 50_000 }).evaluate({});
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.code, 'ERR_CEL_COST_LIMIT');
      assert.equal(result.message, 'evaluation exceeded its cost limit of 50000');
    }
  });

  it('aborts an expression the estimate admitted when its input is larger than the estimate assumed', () => {
    const program = compileCel('a.l.all(x, a.l.all(y, true))', {
      variables: { a: jsonShape(64) },
      estimatedCostLimit: 50_000,
      runtimeCostLimit: 50_000,
    });
    const big = toCelInput({ l: Array.from({ length: 1000 }, () => 0) });
    const meter = new CostMeter(Number.POSITIVE_INFINITY);
    const result = program.evaluate({ a: big }, { meter: new CostMeter(60_000, meter) });
    assert.equal(result.ok ? 'ok' : result.code, 'ERR_CEL_COST_LIMIT');
    assert.ok(meter.spent < 61_000, `charged ${meter.spent} before aborting`);
  });

  it('charges comprehension steps even when the step makes no call', () => {
    const program = compileOver('a.l.all(x, true)');
    const steps = (n: number) => {
      const meter = new CostMeter(Number.POSITIVE_INFINITY);
      program.evaluate({ a: toCelInput({ l: Array.from({ length: n }, () => 0) }) }, { meter });
      return meter.spent;
    };
    assert.ok(steps(200) - steps(100) >= 100 * 2, `${steps(100)} → ${steps(200)}`);
  });

  it('charges string work by length', () => {
    const program = compileOver('size(a.s + a.s) > 0');
    const spent = (s: string) => {
      const meter = new CostMeter(Number.POSITIVE_INFINITY);
      program.evaluate({ a: toCelInput({ s }) }, { meter });
      return meter.spent;
    };
    assert.ok(spent('x'.repeat(1000)) - spent('x') >= 0.1 * 2 * 999, `${spent('x')} → ${spent('x'.repeat(1000))}`);
  });

  it('charges a shared meter for every evaluation, and a parent meter stops its children', () => {
    const program = compileCel('[1, 2, 3].all(x, x > 0)');
    const decision = new CostMeter(Number.POSITIVE_INFINITY);
    program.evaluate({}, { meter: decision });
    const once = decision.spent;
    program.evaluate({}, { meter: decision });
    assert.equal(decision.spent, 2 * once);
    const tight = new CostMeter(once + 1);
    assert.equal(program.evaluate({}, { meter: tight }).ok, true);
    const second = program.evaluate({}, { meter: tight });
    assert.equal(second.ok ? 'ok' : second.code, 'ERR_CEL_COST_LIMIT');
  });

  it('explains on one budget: clauses past it are errors, the result is still reported', () => {
    const source = `${DIGITS}.all(a, ${DIGITS}.all(b, true)) && ${DIGITS}.all(a, ${DIGITS}.all(b, true))`;
    const program = compileCel(source);
    const full = new CostMeter(Number.POSITIVE_INFINITY);
    program.evaluate({}, { meter: full });
    const explanation = program.explain({}, { meter: new CostMeter(full.spent * 1.5) });
    assert.deepEqual(explanation.result, { ok: true, value: true });
    assert.deepEqual(
      explanation.clauses.map((c) => [c.outcome, c.message]),
      [
        ['true', undefined],
        ['error', `evaluation exceeded its cost limit of ${full.spent * 1.5}`],
      ],
    );
  });

  it('restores the stack trace limit it lowers while evaluating', () => {
    const before = Error.stackTraceLimit;
    compileCel('a.missing == 1').evaluate({ a: toCelInput({}) });
    compileCel(NESTED_COMPREHENSION, { runtimeCostLimit: 1000 }).evaluate({});
    assert.equal(Error.stackTraceLimit, before);
  });

  it('never charges more than the estimate on inputs within the declared size', () => {
    fc.assert(
      fc.property(expression(3), claims(), (source, input) => {
        const program = compileOver(source);
        const meter = new CostMeter(Number.POSITIVE_INFINITY);
        program.evaluate({ a: toCelInput(input) }, { meter });
        assert.ok(
          meter.spent <= program.estimate.cost + 1e-6,
          `${source} on ${JSON.stringify(input)}: spent ${meter.spent} > estimate ${program.estimate.cost}`,
        );
      }),
      { numRuns: 300, seed: 12 },
    );
  });
});

/** Random expressions over `a`, a JSON value of up to 1024 characters (a.l a list, a.s a string, a.m a map). */
function expression(depth: number): fc.Arbitrary<string> {
  const leaf = fc.constantFrom('a.s', 'a.l', 'a.m', 'a.n', "'ab'", '[1, 2]', "{'k': 'v'}", '1', 'true', 'x', 'a');
  if (depth === 0) return leaf;
  const sub = expression(depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: leaf },
    fc
      .tuple(sub, fc.constantFrom('+', '==', '!=', '<', 'in', '&&', '||'), sub)
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
    fc
      .tuple(sub, fc.constantFrom('all', 'exists', 'map', 'filter', 'exists_one'), sub)
      .map(([r, m, s]) => `${r}.${m}(x, ${s})`),
    fc.tuple(sub, sub).map(([s, t]) => `${s}.contains(${t})`),
    fc.tuple(sub, sub).map(([s, t]) => `${s}.startsWith(${t})`),
    sub.map((s) => `${s}.matches('^(a|b)+$')`),
    fc.tuple(sub, sub).map(([s, t]) => `${s}.matches(${t})`),
    sub.map((s) => `size(${s})`),
    sub.map((s) => `string(${s})`),
    sub.map((s) => `int(${s})`),
    sub.map((s) => `timestamp(${s})`),
    sub.map((s) => `has(${s}.k)`),
    fc.tuple(sub, sub).map(([s, i]) => `${s}[${i}]`),
    fc.tuple(sub, sub, sub).map(([c, t, f]) => `(${c} ? ${t} : ${f})`),
  );
}

function claims(): fc.Arbitrary<unknown> {
  const text = fc.string({ unit: fc.constantFrom('a', 'b', 'k', 'v', '1', 'é'), maxLength: 40 });
  const value = fc.oneof(text, fc.integer({ min: -5, max: 5 }), fc.boolean(), fc.constant(null));
  return fc
    .record({
      s: text,
      n: fc.integer(),
      l: fc.array(fc.oneof(value, fc.array(value, { maxLength: 4 })), { maxLength: 60 }),
      m: fc.dictionary(fc.constantFrom('k', 'v', 'a', 'ab'), value),
    })
    .filter((input) => JSON.stringify(input).length <= 1024);
}
