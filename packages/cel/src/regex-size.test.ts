// The program-size bound of regular expressions never undercounts counted repetition.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RE2JS } from '@bufbuild/re2';
import { regexProgramSize } from './regex-size.ts';

it('bounds a pattern by its characters times the repeat counts around them', () => {
  const table: [string, number][] = [
    ['', 1],
    ['abc', 4],
    ['a{10}', 12],
    ['(a|b){1000}', 5002],
    ['((a{10}){10}){10}', 1332],
    ['[a-z]{3,5}', 27],
    ['x{2,}', 5],
    ['\\Q(a){9}\\E', 11],
    ['[{]{3}', 11],
    ['a{x}', 5],
  ];
  for (const [pattern, size] of table) assert.equal(regexProgramSize(pattern), size, pattern);
});

it('caps the bound at what RE2 accepts: 1000 instructions per character', () => {
  assert.equal(regexProgramSize('((a{1000}){1000}){1000}'), 1000 * 24);
  assert.throws(() => RE2JS.compile('((a{1000}){1000}){1000}'), /invalid repeat count/);
});
