// gcloud's `--metadata` dictionary syntax, `k=v,k2=v2` or `^DELIM^k=v<DELIM>k2=v2` (`gcloud topic escaping`).
import { metadataError } from './errors.ts';

/**
 * Parses one `--metadata` argument into key/value pairs, as gcloud's ArgDict does: an optional
 * leading `^DELIM^` picks another delimiter (one or more characters), one trailing delimiter is
 * ignored, each item splits at its first `=`, and a later key wins over an earlier one.
 */
export function parseMetadataFlag(argument: string): Record<string, string> {
  let delimiter = ',';
  let body = argument;
  if (argument.startsWith('^')) {
    const end = argument.indexOf('^', 1);
    if (end > 1) {
      delimiter = argument.slice(1, end);
      body = argument.slice(end + 1);
    }
  }
  // A Map, then fromEntries: a key such as `__proto__` stays an own property, never a prototype.
  const out = new Map<string, string>();
  if (body === '') return {};
  const items = body.endsWith(delimiter) ? body.slice(0, -delimiter.length).split(delimiter) : body.split(delimiter);
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw metadataError(`Bad syntax for dict arg: [${item}]; expected KEY=VALUE`);
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return Object.fromEntries(out);
}

/** Merges several `--metadata` arguments (the flag may repeat); later arguments win. */
export function parseMetadataFlags(argumentsList: readonly string[]): Record<string, string> {
  return Object.fromEntries(argumentsList.flatMap((argument) => Object.entries(parseMetadataFlag(argument))));
}
