// The rules an OIDC issuer URI must meet (OpenID Connect Discovery 1.0 §3, as Google's WIF applies them).

/** Google refuses longer issuer URIs. */
export const MAX_ISSUER_URI_CHARS = 2000;

/**
 * Why `text` is not an acceptable issuer URI, or undefined when it is. An issuer is an https URL with
 * no query, fragment or user info: the server appends `/.well-known/openid-configuration` to it, so
 * a `?` or `#` would let whoever registers it choose the path and query the server fetches.
 * `allowHttp` says whether plain http is allowed to the URL's host (the outbound allow-list).
 */
export function issuerUriProblem(text: string, allowHttp: (url: URL) => boolean): string | undefined {
  if (text.length > MAX_ISSUER_URI_CHARS) return `must be at most ${MAX_ISSUER_URI_CHARS} characters`;
  // The URL parser silently drops tabs and newlines and turns `\` into `/`; an issuer has none of them.
  if (/[\s\\\x00-\x1f\x7f]/.test(text)) return 'must not contain whitespace, control characters or backslashes';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)/i.exec(text)?.[1] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    return 'must not contain a user name or password';
  }
  if (text.includes('?')) return 'must not contain a query (?)';
  if (text.includes('#')) return 'must not contain a fragment (#)';
  if (url.protocol === 'http:' && !allowHttp(url)) {
    return 'must use https (plain http only to hosts on the outbound http allow-list, or loopback in dev mode)';
  }
  return undefined;
}
