// IAM member syntax (user:, serviceAccount:, group:, principal://, principalSet://) and matching callers.
import type { Caller } from '@sealroom/core';
import { IamError } from './errors.ts';

export type Member =
  | { readonly type: 'user' | 'serviceAccount' | 'group' | 'domain'; readonly value: string }
  | { readonly type: 'allUsers' | 'allAuthenticatedUsers' }
  | { readonly type: 'principal'; readonly pool: string; readonly subject: string }
  | { readonly type: 'principalSet'; readonly pool: string; readonly attribute: string; readonly value: string }
  | { readonly type: 'principalSetGroup'; readonly pool: string; readonly group: string }
  | { readonly type: 'principalSetAll'; readonly pool: string }
  | { readonly type: 'deleted'; readonly value: string };

const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const DOMAIN = /^[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const POOL = /^projects\/(\d{1,20})\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})$/;
const ATTRIBUTE_NAME = /^[a-z0-9_]{1,100}$/;
const DELETED =
  /^(user|serviceAccount|group):[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\?uid=\d{1,30}$/;
const NO_GROUPS: ReadonlySet<string> = new Set();

/** Parses a member string; `universe` is the universe domain in `principal://iam.<universe>/…`. */
export function parseMember(text: string, universe: string): Member {
  if (text === 'allUsers' || text === 'allAuthenticatedUsers') return { type: text };
  const colon = text.indexOf(':');
  const prefix = colon < 0 ? '' : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (prefix) {
    case 'user':
    case 'serviceAccount':
    case 'group':
      if (!EMAIL.test(rest)) throw invalid(text, `'${prefix}:' must be followed by an email address`);
      return { type: prefix, value: rest.toLowerCase() };
    case 'domain':
      if (!DOMAIN.test(rest)) throw invalid(text, "'domain:' must be followed by a domain name");
      return { type: 'domain', value: rest.toLowerCase() };
    case 'principal':
    case 'principalSet':
      return parseFederated(text, prefix, rest, universe);
    case 'deleted':
      // Google's form for a deleted principal, `deleted:serviceAccount:EMAIL?uid=ID`: kept, never matched.
      if (!DELETED.test(rest)) throw invalid(text, "expected 'deleted:user|serviceAccount|group:EMAIL?uid=ID'");
      return { type: 'deleted', value: rest };
    default:
      throw invalid(text, 'unknown member type');
  }
}

function parseFederated(text: string, prefix: string, rest: string, universe: string): Member {
  const host = `//iam.${universe}/`;
  if (!rest.startsWith(host)) throw invalid(text, `expected '${prefix}://iam.${universe}/projects/…'`);
  const path = rest.slice(host.length);
  const poolEnd = nthIndexOf(path, '/', 6);
  const poolName = poolEnd < 0 ? path : path.slice(0, poolEnd);
  if (!POOL.test(poolName)) throw invalid(text, 'expected projects/NUMBER/locations/global/workloadIdentityPools/POOL');
  const tail = poolEnd < 0 ? '' : path.slice(poolEnd + 1);
  if (prefix === 'principal') {
    if (!tail.startsWith('subject/') || tail.length === 'subject/'.length)
      throw invalid(text, "expected '/subject/SUBJECT'");
    const subject = tail.slice('subject/'.length);
    if (Buffer.byteLength(subject) > 127) throw invalid(text, 'the subject is longer than 127 bytes');
    return { type: 'principal', pool: poolName, subject };
  }
  if (tail === '*') return { type: 'principalSetAll', pool: poolName };
  if (tail.startsWith('group/') && tail.length > 'group/'.length) {
    return { type: 'principalSetGroup', pool: poolName, group: tail.slice('group/'.length) };
  }
  const match = /^attribute\.([^/]+)\/(.+)$/s.exec(tail);
  if (!match || !ATTRIBUTE_NAME.test(match[1] as string)) {
    throw invalid(text, "expected '/*', '/group/GROUP' or '/attribute.NAME/VALUE'");
  }
  return { type: 'principalSet', pool: poolName, attribute: match[1] as string, value: match[2] as string };
}

function nthIndexOf(text: string, ch: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf(ch, at + 1);
    if (at < 0) return -1;
  }
  return at;
}

function invalid(text: string, why: string): IamError {
  const shown = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return new IamError('ERR_IAM_INVALID_MEMBER', `Invalid member '${shown}': ${why}.`);
}

/** The `principal://` member string for a federated subject. */
export function principalOf(pool: string, subject: string, universe: string): string {
  return `principal://iam.${universe}/${pool}/subject/${subject}`;
}

/**
 * True when `member` designates `caller` (undefined = an anonymous request). `managedGroups` are the
 * deployment-administered groups the caller belongs to: the only thing a `group:` member matches. A
 * federated caller's mapped `google.groups` are assertions of its own pool's provider, so they match
 * only `principalSet://…/POOL/group/G` of that pool, never a `group:` member.
 */
export function memberMatches(
  member: Member,
  caller: Caller | undefined,
  managedGroups: ReadonlySet<string> = NO_GROUPS,
): boolean {
  if (member.type === 'allUsers') return true;
  if (!caller) return false;
  switch (member.type) {
    case 'allAuthenticatedUsers':
      return true;
    case 'user':
      return caller.kind === 'user' && caller.principal === `user:${member.value}`;
    case 'serviceAccount':
      return caller.kind === 'serviceAccount' && caller.principal === `serviceAccount:${member.value}`;
    case 'domain':
      return caller.kind === 'user' && caller.principal.endsWith(`@${member.value}`);
    case 'group':
      return caller.kind !== 'federated' && managedGroups.has(member.value);
    case 'deleted':
      return false;
    case 'principal':
      return caller.federation?.pool === member.pool && caller.federation.subject === member.subject;
    case 'principalSet':
      return caller.federation?.pool === member.pool && caller.federation.attributes[member.attribute] === member.value;
    case 'principalSetGroup':
      return caller.federation?.pool === member.pool && caller.federation.groups.includes(member.group);
    case 'principalSetAll':
      return caller.federation?.pool === member.pool;
  }
}
