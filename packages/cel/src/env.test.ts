import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSealroomError } from '@sealroom/core';
import { extractTemplate, parseStrictDouble, parseStrictInt, parseStrictUint, timestampFromSeconds } from './env.ts';
import { compileCel } from './program.ts';

test('a conversion CEL cannot make is ERR_CEL_CONVERSION in cel-go’s words, and the evaluation errs with them', () => {
  const cases: [() => unknown, string][] = [
    [() => parseStrictInt(' 1'), 'invalid syntax for int conversion'],
    [() => parseStrictInt('9223372036854775808'), 'int conversion out of range'],
    [() => parseStrictUint('-1'), 'invalid syntax for uint conversion'],
    [() => parseStrictUint('18446744073709551616'), 'uint conversion out of range'],
    [() => parseStrictDouble('0x10'), 'invalid syntax for double conversion'],
    [() => timestampFromSeconds(253402300800n), 'timestamp out of range'],
    [() => extractTemplate('a', 'no-name'), 'extract template must hold exactly one {name}'],
  ];
  for (const [convert, message] of cases) {
    assert.throws(convert, (error: unknown) => {
      assert.ok(isSealroomError(error), message);
      assert.equal(error.code, 'ERR_CEL_CONVERSION');
      assert.equal(error.message, message);
      return true;
    });
  }
  const result = compileCel("int('x') == 1").evaluate({});
  assert.equal(result.ok, false);
  assert.equal(result.ok ? undefined : result.message, 'invalid syntax for int conversion');
});
