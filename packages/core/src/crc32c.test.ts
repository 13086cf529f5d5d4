import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c, parseCrc32c } from './crc32c.ts';

test('crc32c matches the RFC 3720 check value and known vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c continues across chunks exactly as over the whole input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (data, cut) => {
      const at = Math.min(cut, data.length);
      assert.equal(crc32c(data.subarray(at), crc32c(data.subarray(0, at))), crc32c(data));
    }),
  );
});

test('parseCrc32c accepts int64 strings and numbers and rejects anything else', () => {
  assert.equal(parseCrc32c('3808858755', 'f'), 3808858755);
  assert.equal(parseCrc32c(17, 'f'), 17);
  assert.equal(parseCrc32c(undefined, 'f'), undefined);
  assert.throws(() => parseCrc32c('4294967296', 'plaintext_crc32c'), /plaintext_crc32c/);
  assert.throws(() => parseCrc32c('-1', 'f'));
  assert.throws(() => parseCrc32c('1e3', 'f'));
});
