// Log entries: which decisions become leaves, and the leaf bytes (a salted summary safe to publish).
import { hash, randomFillSync } from 'node:crypto';
import type { AuditOutcome, AuditRecord } from '@sealroom/core';
import { toRfc3339 } from '@sealroom/core';
import { TransparencyError } from './errors.ts';

export type EntryKind =
  | 'verifier.token'
  | 'sts.exchange'
  | 'iam.impersonation'
  | 'kms.use'
  | 'secrets.use'
  | 'iam.policy'
  | 'registry.signature'
  | 'workload.release';

export type FactValue = string | number | boolean;

/** What a leaf says. The salt makes the leaf hash reveal nothing to whoever sees only hashes. */
export interface LogEntry {
  readonly v: 1;
  readonly kind: EntryKind;
  /** RFC 3339 time the decision was logged. */
  readonly time: string;
  /** Number of the project whose receipts include this entry. */
  readonly project: string;
  readonly method: string;
  readonly resource: string;
  /** The IAM member that acted (`principal://…`, `serviceAccount:…`, `user:…`), or `anonymous`. */
  readonly principal: string;
  readonly outcome: AuditOutcome;
  readonly status?: string;
  /** Selected names, digests and counts; never a secret, token, key or plaintext. */
  readonly facts: Readonly<Record<string, FactValue>>;
  /** Hex SHA-256 of the audit record's details, to match the leaf with the project's audit log entry. */
  readonly detailsDigest?: string;
  readonly salt: string;
}

/** A decision to log: everything of an entry but its time and salt, which the log sets. */
export type Decision = Omit<LogEntry, 'v' | 'time' | 'salt'>;

const SALT_BYTES = 16;
/** Salts are cut from a pool of CSPRNG output: one call per 256 leaves instead of one per leaf. */
const SALT_POOL_BYTES = 4096;
const saltPool = Buffer.alloc(SALT_POOL_BYTES);
let saltOffset = SALT_POOL_BYTES;

/** A fresh salt, never handed out twice (the pool is refilled once used up). */
function nextSalt(): string {
  if (saltOffset + SALT_BYTES > SALT_POOL_BYTES) {
    randomFillSync(saltPool);
    saltOffset = 0;
  }
  const salt = saltPool.toString('base64', saltOffset, saltOffset + SALT_BYTES);
  saltOffset += SALT_BYTES;
  return salt;
}
/** Largest leaf the log stores; release summaries are checked against it too. */
export const MAX_ENTRY_BYTES = 8 * 1024;

const KMS = 'google.cloud.kms.v1.KeyManagementService.';
const KMS_USES = new Set(['Encrypt', 'Decrypt', 'AsymmetricSign', 'AsymmetricDecrypt', 'MacSign', 'MacVerify']);
const SECRETS = 'google.cloud.secretmanager.v1.SecretManagerService.';
const SECRET_USES = new Set(['AccessSecretVersion', 'AddSecretVersion']);
const COSIGN_SIGNATURE_TAG = /^sha256-[0-9a-f]{64}\.sig$/;

/** Detail keys copied into a leaf, per kind; everything else is represented by the details digest only. */
const FACT_KEYS: Readonly<Record<EntryKind, readonly string[]>> = {
  'verifier.token': ['claimsDigest', 'tokenDigest', 'imageDigest', 'hwmodel', 'instanceId', 'outputPolicyDigest'],
  'sts.exchange': ['subjectTokenDigest', 'claimsDigest', 'issuer', 'principal', 'failingClauseIndex'],
  'iam.impersonation': ['lifetimeSeconds'],
  'kms.use': ['cryptoKeyVersion', 'permission'],
  'secrets.use': ['permission'],
  'iam.policy': [],
  'registry.signature': ['image', 'digest', 'tag'],
  'workload.release': [],
};

/** The kind of an audited decision the log keeps, or undefined for the rest (reads, admin changes). */
export function kindOf(record: AuditRecord): EntryKind | undefined {
  const { method } = record;
  if (method === 'google.identity.sts.v1.SecurityTokenService.ExchangeToken') return 'sts.exchange';
  if (method === 'google.cloud.confidentialcomputing.v1.ConfidentialComputing.VerifyAttestation')
    return 'verifier.token';
  if (method.startsWith(KMS) && KMS_USES.has(method.slice(KMS.length))) return 'kms.use';
  if (method.startsWith(SECRETS) && SECRET_USES.has(method.slice(SECRETS.length))) return 'secrets.use';
  if (/^google\.iam\.credentials\.v1\.IAMCredentials\.Generate(AccessToken|IdToken)$/.test(method))
    return 'iam.impersonation';
  if (method.endsWith('.SetIamPolicy') && record.outcome === 'ALLOWED') return 'iam.policy';
  if (
    method === 'google.devtools.artifactregistry.v1.ArtifactRegistry.PutManifest' &&
    typeof record.details?.tag === 'string' &&
    COSIGN_SIGNATURE_TAG.test(record.details.tag)
  )
    return 'registry.signature';
  return undefined;
}

/** The decision an audit record stands for, when it is one the log keeps. `projectNumber` is resolved. */
export function decisionOf(record: AuditRecord, projectNumber: string): Decision | undefined {
  const kind = kindOf(record);
  if (!kind) return undefined;
  const facts: Record<string, FactValue> = {};
  for (const key of FACT_KEYS[kind]) {
    const value = record.details?.[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') facts[key] = value;
  }
  if (kind === 'iam.policy') {
    const bindings = record.details?.bindings;
    facts.bindings = Array.isArray(bindings) ? bindings.length : 0;
  }
  // Which workload acted: the attributes its collaborator's provider mapped (image reference, digest, …).
  for (const [name, value] of Object.entries(record.caller?.federation?.attributes ?? {}).slice(0, 8)) {
    facts[`attribute.${name}`] = value.slice(0, 512);
  }
  if (kind === 'registry.signature' && typeof record.details?.tag === 'string') {
    facts.signedDigest = `sha256:${record.details.tag.slice('sha256-'.length, -'.sig'.length)}`;
  }
  return {
    kind,
    project: projectNumber,
    method: record.method,
    resource: record.resource,
    principal: record.caller?.principal ?? 'anonymous',
    outcome: record.outcome,
    ...(record.status === undefined ? {} : { status: record.status }),
    facts,
    ...(record.details ? { detailsDigest: digestOf(record.details) } : {}),
  };
}

/** Hex SHA-256 of JSON with sorted keys. */
export function digestOf(value: unknown): string {
  return hash('sha256', canonicalJson(value), 'hex');
}

/**
 * JSON with object keys sorted (by UTF-16 code units) and undefined members left out. Built by concatenation,
 * without the intermediate arrays of entries: every audited decision is written through it twice.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** The leaf bytes of a decision logged at `timeMs`, with a fresh salt. */
export function toLeaf(decision: Decision, timeMs: number): Buffer {
  const entry: LogEntry = {
    v: 1,
    kind: decision.kind,
    time: toRfc3339(timeMs),
    project: decision.project,
    method: decision.method,
    resource: decision.resource,
    principal: decision.principal,
    outcome: decision.outcome,
    ...(decision.status === undefined ? {} : { status: decision.status }),
    facts: decision.facts,
    ...(decision.detailsDigest === undefined ? {} : { detailsDigest: decision.detailsDigest }),
    salt: nextSalt(),
  };
  const bytes = Buffer.from(entryJson(entry), 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_ENTRY', `A log entry is limited to ${MAX_ENTRY_BYTES} bytes.`);
  }
  return bytes;
}

/**
 * `canonicalJson(entry)`, written member by member in the sorted order of LogEntry's keys: every audited
 * decision is written through it, and the generic walk (sorting keys, a call per member) cost three times as
 * much. Only the facts, whose keys vary, go through the generic walk.
 */
function entryJson(entry: LogEntry): string {
  let out = '{';
  if (entry.detailsDigest !== undefined) out += `"detailsDigest":${JSON.stringify(entry.detailsDigest)},`;
  out += `"facts":${canonicalJson(entry.facts)},"kind":${JSON.stringify(entry.kind)}`;
  out += `,"method":${JSON.stringify(entry.method)}`;
  out += `,"outcome":${JSON.stringify(entry.outcome)},"principal":${JSON.stringify(entry.principal)}`;
  out += `,"project":${JSON.stringify(entry.project)},"resource":${JSON.stringify(entry.resource)}`;
  out += `,"salt":${JSON.stringify(entry.salt)}`;
  if (entry.status !== undefined) out += `,"status":${JSON.stringify(entry.status)}`;
  return `${out},"time":${JSON.stringify(entry.time)},"v":${entry.v}}`;
}

/** Parses leaf bytes back into an entry (receipts carry the leaf; its hash is what the proof covers). */
export function parseLeaf(leaf: Uint8Array): LogEntry {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(leaf).toString('utf8'));
  } catch (cause) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_ENTRY', 'The leaf is not a JSON log entry.', { cause });
  }
  const entry = value as Partial<LogEntry> | null;
  if (
    entry === null ||
    typeof entry !== 'object' ||
    entry.v !== 1 ||
    typeof entry.kind !== 'string' ||
    typeof entry.project !== 'string' ||
    typeof entry.time !== 'string'
  ) {
    throw new TransparencyError('ERR_TRANSPARENCY_BAD_ENTRY', 'The leaf is not a version 1 log entry.');
  }
  return entry as LogEntry;
}
