// Conformance cases Sealroom knowingly fails, each with its reason; the conformance test fails on any other.

const BACKTICK =
  'Backtick-quoted field names (m.`a-b`), a CEL addition after v0.24, are not parsed by @bufbuild/cel 0.6.1; ' +
  'Google WIF does not document them, so policies cannot rely on them.';

export const KNOWN_DEVIATIONS: Readonly<Record<string, string>> = {
  'fields/quoted_map_fields/field_access_slash': BACKTICK,
  'fields/quoted_map_fields/field_access_dash': BACKTICK,
  'fields/quoted_map_fields/field_access_dot': BACKTICK,
  'fields/quoted_map_fields/has_field_slash': BACKTICK,
  'fields/quoted_map_fields/has_field_dash': BACKTICK,
  'fields/quoted_map_fields/has_field_dot': BACKTICK,
  'fields/qualified_identifier_resolution/map_value_repeat_key_heterogeneous':
    'A map literal {0: 1, 0u: 2} repeats a key under heterogeneous equality; cel-go rejects it, ' +
    '@bufbuild/cel keeps the last entry. Provider policies build no such literals.',
};
