// Behaviour of compile/evaluate/explain and of the cel-go fixes (docs/cel.md, "Differences from plain @bufbuild/cel").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { celMap, isCelError } from '@bufbuild/cel';
import { isSealroomError } from '@sealroom/core';
import { toCelInput } from './input.ts';
import { compileCel } from './program.ts';

function evaluate(source: string, vars: Record<string, unknown> = {}): unknown {
  const bindings = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, toCelInput(v)]));
  const result = compileCel(source).evaluate(bindings);
  return result.ok ? result.value : 'ERROR';
}

describe('cel-go semantics the wrapper restores', () => {
  const table: Array<[string, Record<string, unknown>, unknown]> = [
    ['has(m.a)', { m: { a: null } }, true],
    ["'a' in m", { m: { a: null } }, true],
    ["has({'a': null}.a)", {}, true],
    ['has(m.b)', { m: { a: null } }, false],
    ["'b' in m", { m: { a: 1 } }, false],
    ["int('42') == 42", {}, true],
    ["int('-42') == -42", {}, true],
    ["int('+7') == 7", {}, true],
    ["int(' 42')", {}, 'ERROR'],
    ["int('0x10')", {}, 'ERROR'],
    ["int('')", {}, 'ERROR'],
    ["int('9223372036854775808')", {}, 'ERROR'],
    ["uint('1') == 1u", {}, true],
    ["uint(' 1')", {}, 'ERROR'],
    ["uint('-1')", {}, 'ERROR'],
    ["uint('')", {}, 'ERROR'],
    ["double('1.5e3') == 1500.0", {}, true],
    ["double('')", {}, 'ERROR'],
    ["double(' 1')", {}, 'ERROR'],
    ["double('0x10')", {}, 'ERROR'],
    ["double('-Inf') < 0.0", {}, true],
    ["timestamp(1704067200) == timestamp('2024-01-01T00:00:00Z')", {}, true],
    ['timestamp(253402300800)', {}, 'ERROR'],
    ["'refs/heads/main/x'.extract('/heads/{branch}/') == 'main'", {}, true],
    ["'abc'.extract('x{v}') == ''", {}, true],
    ["'abc'.extract('a{v}x') == ''", {}, true],
    ["'projects/p1/x'.extract('projects/{p}') == 'p1/x'", {}, true],
    ['a.oemid == 11129', { a: { oemid: 11129 } }, true],
    ['a.iat + 1', { a: { iat: 5 } }, 'ERROR'],
    ['int(a.iat) + 1 == 6', { a: { iat: 5 } }, true],
    ['size(a.cmd_override) == 0', { a: { cmd_override: null } }, 'ERROR'],
    ['!has(a.env_override.example)', { a: { env_override: null } }, true],
    ["size('😀') == 1", {}, true],
    ["'abc'.matches('(?i)ABC')", {}, true],
    ["string(123456789.0) == '1.23456789e+08'", {}, true],
    ["string(1.5) == '1.5'", {}, true],
    ["string(100.0) == '100'", {}, true],
    ["string(0.00001) == '1e-05'", {}, true],
    ["string(0.0001) == '0.0001'", {}, true],
    ["string(a.iat) == '1.7040672e+09'", { a: { iat: 1704067200 } }, true],
  ];
  for (const [source, vars, expected] of table) {
    it(`evaluates ${source} to ${String(expected)}`, () => {
      assert.deepEqual(evaluate(source, vars), expected);
    });
  }
});

describe('compileCel', () => {
  it('refuses an int literal beyond int64 at compile time', () => {
    assert.throws(() => compileCel('9223372036854775808 > 0'), { code: 'ERR_CEL_LITERAL_RANGE' });
    assert.equal(evaluate('-9223372036854775808 < 0'), true);
  });

  it('reports a syntax error with its line and column and no source text', () => {
    try {
      compileCel("a.b == 'secret-value' &&");
      assert.fail('expected a syntax error');
    } catch (error) {
      assert.ok(isSealroomError(error));
      assert.equal(error.code, 'ERR_CEL_SYNTAX');
      assert.match(error.message, /line 1, column \d+/);
      assert.doesNotMatch(error.message, /secret-value/);
    }
  });

  it('refuses an expression above its length limit', () => {
    assert.throws(() => compileCel('true'.padEnd(20, ' '), { maxLength: 10 }), { code: 'ERR_CEL_TOO_LONG' });
  });

  it('evaluates one compiled program many times with different bindings', () => {
    const program = compileCel("x.name == 'a'");
    assert.deepEqual(program.evaluate({ x: toCelInput({ name: 'a' }) }), { ok: true, value: true });
    assert.deepEqual(program.evaluate({ x: toCelInput({ name: 'b' }) }), { ok: true, value: false });
  });

  it('locates an evaluation error in the source', () => {
    const result = compileCel('true && a.missing == 1').evaluate({ a: toCelInput({}) });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.ok(result.at !== undefined);
      assert.equal(result.at.line, 1);
    }
  });

  it('returns errors as values, never throws, on bad input', () => {
    const result = compileCel('a.b.c').evaluate({ a: toCelInput({ b: 3 }) });
    assert.equal(result.ok, false);
    assert.ok(!isCelError(result));
  });
});

describe('explain', () => {
  const source = `assertion.swname == 'CONFIDENTIAL_SPACE' &&
  "STABLE && not an operator" != '' &&
  ('STABLE' in assertion.attrs || false) &&
  assertion.missing == 1`;
  it('reports each top-level clause with its text, position and outcome', () => {
    const explanation = compileCel(source).explain({
      assertion: toCelInput({ swname: 'CONFIDENTIAL_SPACE', attrs: ['USABLE'] }),
    });
    assert.equal(explanation.operator, '&&');
    assert.deepEqual(
      explanation.clauses.map((c) => [c.text, c.outcome, c.span.line]),
      [
        ["assertion.swname == 'CONFIDENTIAL_SPACE'", 'true', 1],
        [`"STABLE && not an operator" != ''`, 'true', 2],
        ["('STABLE' in assertion.attrs || false)", 'false', 3],
        ['assertion.missing == 1', 'error', 4],
      ],
    );
    assert.equal(explanation.clauses[2]?.span.column, 3);
    assert.equal(explanation.result.ok && explanation.result.value, false);
  });

  it('treats a single expression as one clause', () => {
    const explanation = compileCel(' 1 == 1 ').explain({});
    assert.equal(explanation.operator, undefined);
    assert.deepEqual(
      explanation.clauses.map((c) => [c.text, c.outcome]),
      [['1 == 1', 'true']],
    );
  });

  it('marks a clause that yields a non-bool', () => {
    const explanation = compileCel("true || 'x'").explain({});
    assert.equal(explanation.operator, '||');
    assert.equal(explanation.clauses[1]?.outcome, 'not-bool');
  });
});

describe('map lookups by number', () => {
  it('scan the keys for a uint twin at most once per map', () => {
    let scans = 0;
    class CountingMap<K, V> extends Map<K, V> {
      override keys(): MapIterator<K> {
        scans++;
        return super.keys();
      }
    }
    const map = celMap(new CountingMap<string, number>([['k1', 1]]));
    for (let i = 0; i < 100; i++) assert.equal(map.get(BigInt(i)), undefined);
    assert.ok(scans <= 1, `${scans} scans`);
  });

  it('miss without scanning the keys when the map has no uint keys, and still find uint keys', () => {
    const table: [string, unknown][] = [
      ['1 in m', false],
      ["{1u: 'a'}[1] == 'a'", true],
      ["{1: 'a'}[1u] == 'a'", true],
      ["{1: 'a'}[1.0] == 'a'", true],
      ["m['k1'] == 1.0", true],
    ];
    const m = toCelInput({ k1: 1, k2: 2 });
    for (const [source, expected] of table) {
      const result = compileCel(source).evaluate({ m });
      assert.deepEqual(result.ok ? result.value : result.message, expected, source);
    }
  });
});
