import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_LOADER_OPTIONS } from './server.ts';
import { WireFormatError, createWireChecker, requestTypeNameOf } from './wire-check.ts';

const gaxMain = createRequire(import.meta.url).resolve('google-gax');
const includeDirs = [join(gaxMain.slice(0, gaxMain.lastIndexOf(`${sep}build${sep}`)), 'build', 'protos')];
const definition = protoLoader.loadSync('google/iam/v1/iam_policy.proto', { ...GRPC_LOADER_OPTIONS, includeDirs });
const SET_POLICY = 'google.iam.v1.SetIamPolicyRequest';
const type = definition[SET_POLICY] as protoLoader.MessageTypeDefinition<object, object>;
const encode = (message: object) => type.serialize(message);
const check = createWireChecker(definition);

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('valid encodings pass, unknown fields and packed or unpacked repeated fields included', () => {
  const valid = encode({
    resource: 'projects/p/topics/t',
    policy: { version: 3, bindings: [{ role: 'roles/viewer', members: ['user:a@example.com'] }], etag: 'AAE=' },
    updateMask: { paths: ['bindings', 'etag'] },
  });
  check(SET_POLICY, valid);
  check(SET_POLICY, Buffer.alloc(0));
  check(SET_POLICY, Buffer.concat([valid, hex('b8 06 01'), hex('c2 06 02 6869')])); // fields 103 and 104, unknown
});

test('malformed or mistyped encodings are refused, nested ones included', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['a truncated varint', hex('ff ff'), /varint is cut short/],
    ['an 11-byte varint', hex('a0 06 ff ff ff ff ff ff ff ff ff ff 01'), /longer than 10 bytes/],
    ['a length past the end', hex('0a 7f 61'), /runs past the end/],
    ['field number 0', hex('00 01'), /field number/],
    ['a string field as a varint', hex('08 01'), /field resource has the wrong wire type/],
    ['a message field as fixed32', hex('15 00000000'), /field policy has the wrong wire type/],
    ['a string that is not UTF-8', hex('0a 02 c328'), /resource is not valid UTF-8/],
    ['a group start', hex('a3 06'), /wire type 3/],
    ['an int32 inside policy as a string', hex('12 03 0a 01 41'), /field version has the wrong wire type/],
    ['a member that is not UTF-8, two levels down', hex('12 06 22 04 12 02 ff fe'), /members is not valid UTF-8/],
    ['a binding cut short inside policy', hex('12 02 22 05'), /runs past the end/],
  ];
  for (const [what, bytes, reason] of cases) {
    assert.throws(
      () => check(SET_POLICY, bytes),
      (e: unknown) => e instanceof WireFormatError && e.code === 'ERR_BAD_REQUEST_BODY' && reason.test(e.message),
      what,
    );
  }
});

test("a method's request type is found by name", () => {
  const service = definition['google.iam.v1.IAMPolicy'] as protoLoader.ServiceDefinition;
  assert.equal(requestTypeNameOf(definition, service.SetIamPolicy), SET_POLICY);
  assert.equal(requestTypeNameOf(definition, service.GetIamPolicy), 'google.iam.v1.GetIamPolicyRequest');
  assert.equal(requestTypeNameOf(definition, {}), undefined);
});
