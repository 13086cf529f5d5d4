// The contracts' schema interpreter: each keyword as JSON Schema 2020-12 defines it, checked against ajv.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { VERIFY_ATTESTATION_SCHEMA, VERIFY_CONFIDENTIAL_SPACE_SCHEMA } from './evidence.schema.ts';
import { type JsonSchema, applyDefaults, firstIssue } from './json-schema.ts';

function compile(schema: JsonSchema) {
  // ownProperties: a JSON object's members are its own; ajv otherwise sees inherited ones too.
  return new Ajv2020({ strict: false, ownProperties: true }).compile(structuredClone(schema));
}

describe('firstIssue', () => {
  const cases: readonly [string, JsonSchema, unknown, boolean][] = [
    ['integer refuses a fraction', { type: 'integer' }, 1.5, false],
    ['number refuses a string', { type: 'number' }, '1', false],
    ['minimum', { type: 'integer', minimum: 1 }, 0, false],
    ['maximum', { type: 'integer', maximum: 3 }, 3, true],
    ['minLength counts code points', { type: 'string', minLength: 2 }, '😀', false],
    ['maxLength counts code points', { type: 'string', maxLength: 1 }, '😀', true],
    ['uniqueItems', { type: 'array', uniqueItems: true }, [{ a: 1 }, { a: 1 }], false],
    ['maxProperties', { type: 'object', maxProperties: 1 }, { a: 1, b: 2 }, false],
    ['propertyNames', { type: 'object', propertyNames: { pattern: '^[0-9]+$' } }, { x: 1 }, false],
    ['oneOf with two matches fails', { oneOf: [{ type: 'integer' }, { type: 'number' }] }, 1, false],
    ['const', { const: 'A' }, 'A', true],
    ['enum is strict equality', { enum: [1] }, '1', false],
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, never awaited.
    ['if/then applies only when if holds', { if: { const: 1 }, then: { const: 2 } }, 3, true],
    ['a missing required member', { type: 'object', required: ['a'] }, {}, false],
    ['an inherited member is not an own member', { type: 'object', required: ['toString'] }, {}, false],
  ];
  for (const [name, schema, value, valid] of cases) {
    it(`${name}, as ajv decides`, () => {
      assert.equal(firstIssue(schema, value) === undefined, valid);
      assert.equal(compile(schema)(value), valid);
    });
  }

  it('reports where and which kind: missing, unknown or invalid', () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['a'],
      additionalProperties: false,
      properties: { a: { type: 'array', items: { type: 'string' } } },
    };
    assert.deepEqual(firstIssue(schema, {}), { path: 'a', kind: 'missing', rule: 'is required' });
    assert.equal(firstIssue(schema, { a: [], b: 1 })?.kind, 'unknown');
    assert.deepEqual(firstIssue(schema, { a: ['x', 2] }), { path: 'a[1]', kind: 'invalid', rule: 'expected a string' });
  });
});

describe('applyDefaults', () => {
  it('fills absent members only, never replacing one that is present, and never shares the default', () => {
    const schema: JsonSchema = { type: 'object', properties: { a: { default: [] }, b: { default: 1 } } };
    const first: Record<string, unknown> = { b: 2 };
    const second: Record<string, unknown> = {};
    applyDefaults(schema, first);
    applyDefaults(schema, second);
    assert.deepEqual(first, { a: [], b: 2 });
    assert.notEqual(first.a, second.a);
  });
});

describe('the evidence schemas', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, true, 0, 11, 1.5, '', 'SHA256', 'AAAA', '13'),
      fc.string({ maxLength: 6 }),
      fc.array(tie('value'), { maxLength: 9 }),
      fc.dictionary(
        fc.constantFrom('hashAlgo', 'pcrValues', 'quotes', 'nonce', 'akCert', 'payload', 'signature', '0', 'x'),
        tie('value'),
        { maxKeys: 3 },
      ),
    ),
  })).value;

  for (const [name, schema] of [
    ['verifyConfidentialSpace', VERIFY_CONFIDENTIAL_SPACE_SCHEMA],
    ['verifyAttestation', VERIFY_ATTESTATION_SCHEMA],
  ] as const) {
    it(`${name}: the interpreter and ajv agree on arbitrary bodies`, () => {
      const validate = compile(schema);
      const keys = Object.keys(schema.properties ?? {});
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...keys, 'surprise'), json, { maxKeys: 4 }), (body) => {
          assert.equal(firstIssue(schema, body) === undefined, validate(body), JSON.stringify(body));
        }),
        { numRuns: 500, seed: 13 },
      );
    });
  }
});
