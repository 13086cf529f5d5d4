// A strict protobuf wire-format check of a request against its message descriptor, before decoding.
// protobufjs decodes leniently (a string field cut short is clamped, a field of the wrong wire type is read
// anyway), so garbage could reach a handler as plausible values; Google's parsers refuse such bytes.
import { isUtf8 } from 'node:buffer';
import type { PackageDefinition } from '@grpc/proto-loader';
import { CoreError } from '@sealroom/core';

/** The parts of a DescriptorProto (as @grpc/proto-loader hands it over) the check reads. */
interface FieldDescriptor {
  readonly name: string;
  readonly number: number;
  readonly label: string;
  readonly type: string;
  readonly typeName: string;
}

interface CompiledField {
  readonly name: string;
  readonly wireTypes: readonly number[];
  /** Full name of the message type for message fields. */
  readonly message: string | undefined;
  readonly utf8: boolean;
}

type CompiledMessage = ReadonlyMap<number, CompiledField>;

/** Thrown for bytes that are not a valid encoding of the message; the message names no content. */
export class WireFormatError extends CoreError {
  constructor(message: string) {
    super('ERR_BAD_REQUEST_BODY', message);
  }
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
/** Deeper nesting than any Google API message uses; bounds the recursion on hostile input. */
const MAX_DEPTH = 64;

const WIRE_TYPE_OF: Readonly<Record<string, number>> = {
  TYPE_DOUBLE: I64,
  TYPE_FIXED64: I64,
  TYPE_SFIXED64: I64,
  TYPE_FLOAT: I32,
  TYPE_FIXED32: I32,
  TYPE_SFIXED32: I32,
  TYPE_INT64: VARINT,
  TYPE_UINT64: VARINT,
  TYPE_INT32: VARINT,
  TYPE_UINT32: VARINT,
  TYPE_SINT32: VARINT,
  TYPE_SINT64: VARINT,
  TYPE_BOOL: VARINT,
  TYPE_ENUM: VARINT,
  TYPE_STRING: LEN,
  TYPE_BYTES: LEN,
  TYPE_MESSAGE: LEN,
};

/** A checker for the messages of one loaded package definition; compiled types are cached. */
export function createWireChecker(definition: PackageDefinition): (typeName: string, bytes: Uint8Array) => void {
  const compiled = new Map<string, CompiledMessage | undefined>();
  const compile = (typeName: string): CompiledMessage | undefined => {
    if (compiled.has(typeName)) return compiled.get(typeName);
    const entry = definition[typeName] as { format?: string; type?: { field?: FieldDescriptor[] } } | undefined;
    if (entry?.format !== 'Protocol Buffer 3 DescriptorProto') {
      compiled.set(typeName, undefined);
      return undefined;
    }
    const fields = new Map<number, CompiledField>();
    for (const field of entry.type?.field ?? []) {
      const wire = WIRE_TYPE_OF[field.type];
      if (wire === undefined) continue; // groups: unknown here, so skipped like an unknown field
      const packable = field.label === 'LABEL_REPEATED' && wire !== LEN;
      fields.set(field.number, {
        name: field.name,
        wireTypes: packable ? [wire, LEN] : [wire],
        message: field.type === 'TYPE_MESSAGE' ? resolve(definition, typeName, field.typeName) : undefined,
        utf8: field.type === 'TYPE_STRING',
      });
    }
    compiled.set(typeName, fields);
    return fields;
  };
  const check = (typeName: string, bytes: Uint8Array, depth: number): void => {
    if (depth > MAX_DEPTH) throw new WireFormatError('the message nests too deeply');
    const fields = compile(typeName);
    let pos = 0;
    const varint = (): number => {
      let value = 0;
      for (let i = 0; i < 10; i++) {
        if (pos >= bytes.length) throw new WireFormatError('a varint is cut short');
        const byte = bytes[pos++] as number;
        if (i < 7) value += (byte & 0x7f) * 2 ** (7 * i);
        if ((byte & 0x80) === 0) return value;
      }
      throw new WireFormatError('a varint is longer than 10 bytes');
    };
    const skip = (n: number): number => {
      if (n > bytes.length - pos) throw new WireFormatError('a field runs past the end of the message');
      const start = pos;
      pos += n;
      return start;
    };
    while (pos < bytes.length) {
      const tag = varint();
      const number = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (number < 1 || number > 0x1fffffff) throw new WireFormatError('a field number is out of range');
      const field = fields?.get(number);
      if (field && !field.wireTypes.includes(wireType)) {
        throw new WireFormatError(`field ${field.name} has the wrong wire type`);
      }
      if (wireType === VARINT) varint();
      else if (wireType === I64) skip(8);
      else if (wireType === I32) skip(4);
      else if (wireType === LEN) {
        const length = varint();
        const start = skip(length);
        const content = bytes.subarray(start, start + length);
        if (field?.message) check(field.message, content, depth + 1);
        else if (field?.utf8 && !isUtf8(content)) throw new WireFormatError(`field ${field.name} is not valid UTF-8`);
      } else throw new WireFormatError(`wire type ${wireType} is not valid here`);
    }
  };
  return (typeName, bytes) => check(typeName, bytes, 0);
}

/**
 * The full name of a method's request type: proto-loader hands over its descriptor (short name only), so
 * it is found among the package's messages of that name, by its descriptor when several share the name.
 */
export function requestTypeNameOf(definition: PackageDefinition, method: unknown): string | undefined {
  const type = (method as { requestType?: { type?: { name?: string } } }).requestType?.type;
  if (!type?.name) return undefined;
  const candidates = Object.keys(definition).filter((key) => key === type.name || key.endsWith(`.${type.name}`));
  if (candidates.length <= 1) return candidates[0];
  const wanted = JSON.stringify(type);
  return candidates.find((key) => JSON.stringify((definition[key] as { type?: unknown }).type) === wanted);
}

/** Protobuf's scoping: a relative type name is looked up from the innermost enclosing scope outwards. */
function resolve(definition: PackageDefinition, scope: string, typeName: string): string | undefined {
  if (typeName.startsWith('.')) return typeName.slice(1);
  const parts = scope.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), typeName].join('.');
    if (definition[candidate] !== undefined) return candidate;
  }
  return undefined;
}
