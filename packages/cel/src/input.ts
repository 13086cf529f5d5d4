// Turns decoded JSON (a JWT payload) into CEL input once, so each expression reads nested Maps directly.
import type { CelInput } from '@bufbuild/cel';
import { CelPolicyError } from './errors.ts';

/**
 * JSON → CEL, as WIF exposes `assertion` (a protobuf Struct): objects become maps, arrays lists,
 * every number a double (never int), null stays null. Pre-converting doubles evaluation speed
 * (measured on @bufbuild/cel 0.6.1).
 */
export function toCelInput(json: unknown): CelInput {
  if (json === null) return null;
  switch (typeof json) {
    case 'string':
    case 'boolean':
      return json;
    case 'number':
      return json;
    case 'object': {
      if (Array.isArray(json)) return json.map(toCelInput);
      const map = new Map<string, CelInput>();
      for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
        if (value !== undefined) map.set(key, toCelInput(value));
      }
      return map;
    }
    default:
      throw new CelPolicyError('ERR_CEL_INPUT', `not a JSON value: ${typeof json}`);
  }
}
