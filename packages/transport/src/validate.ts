// Request validation with zod, reporting the first problem in the words Google's APIs use.
import { CoreError } from '@sealroom/core';
import type { z } from 'zod';

/** Parses `value` with `schema`; throws 400 naming the field ("Unknown name", "Invalid value at"). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new CoreError('ERR_BAD_REQUEST_BODY', `Invalid ${what}.`);
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const name = [path, issue.keys[0]].filter(Boolean).join('.');
    throw new CoreError(
      'ERR_BAD_REQUEST_BODY',
      `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`,
    );
  }
  if (issue.code === 'invalid_type' && path === '') {
    throw new CoreError('ERR_BAD_REQUEST_BODY', `Invalid ${what}: expected a JSON object.`);
  }
  throw new CoreError('ERR_INVALID_ARGUMENT', `Invalid value at '${path || what}': ${issue.message}.`);
}
