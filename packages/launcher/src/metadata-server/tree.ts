// The instance's metadata as Compute Engine's metadata server lays it out: directories, leaves, JSON and text forms.
import { createHash } from 'node:crypto';

/** A number too large for a JS number (an instance id), written into JSON as its digits. */
export class JsonDigits {
  readonly digits: string;
  constructor(digits: string) {
    this.digits = digits;
  }
}

export type JsonValue = string | boolean | JsonDigits | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface MetadataLeaf {
  readonly kind: 'leaf';
  /** What `alt=text` answers: the value, lists one item per line. */
  readonly text: string;
  readonly json: JsonValue;
}

export interface MetadataDirectory {
  readonly kind: 'dir';
  /** In listing order; `jsonKey` is the key in `?recursive=true` JSON (camelCase for the fixed names, as GCE). */
  readonly entries: readonly { readonly name: string; readonly jsonKey: string; readonly node: MetadataNode }[];
  /** Names listed (not recursed into) that are answered by the server itself: `token`, `identity`. */
  readonly dynamic?: readonly string[];
}

export type MetadataNode = MetadataLeaf | MetadataDirectory;

/** What the metadata server tells an instance about itself. */
export interface InstanceFacts {
  /** 19 digits, as Compute Engine's. */
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly universeDomain: string;
  readonly serviceAccount: { readonly email: string; readonly scopes: readonly string[] };
  /** `projects/NUM/machineTypes/TYPE` when the host knows it. */
  readonly machineType?: string;
  /**
   * The deployment's REST base URL, under `sealroom/api-endpoint` (Sealroom's own entry, absent on Google):
   * where `sealroom launcher` reaches the verifier and the registry.
   */
  readonly apiEndpoint?: string;
}

const leaf = (value: string): MetadataLeaf => ({ kind: 'leaf', text: value, json: value });
const numberLeaf = (digits: string): MetadataLeaf => ({ kind: 'leaf', text: digits, json: new JsonDigits(digits) });
const listLeaf = (values: readonly string[]): MetadataLeaf => ({
  kind: 'leaf',
  text: values.map((v) => `${v}\n`).join(''),
  json: [...values],
});

function dir(
  entries: readonly (readonly [string, MetadataNode])[],
  options: { camel?: boolean; dynamic?: readonly string[] } = {},
): MetadataDirectory {
  return {
    kind: 'dir',
    entries: entries.map(([name, node]) => ({ name, jsonKey: options.camel === false ? name : toCamel(name), node })),
    ...(options.dynamic ? { dynamic: options.dynamic } : {}),
  };
}

/** `service-accounts/default/token` and `…/identity` are minted per request, never part of a recursive answer. */
export const SERVICE_ACCOUNT_DYNAMIC = ['identity', 'token'] as const;

/** The whole tree under `/computeMetadata/v1/` for one instance and its current attributes. */
export function buildMetadataTree(
  facts: InstanceFacts,
  attributes: Readonly<Record<string, string>>,
): MetadataDirectory {
  const account = dir(
    [
      ['aliases', listLeaf(['default'])],
      ['email', leaf(facts.serviceAccount.email)],
      ['scopes', listLeaf(facts.serviceAccount.scopes)],
    ],
    { dynamic: SERVICE_ACCOUNT_DYNAMIC },
  );
  const attributeEntries = Object.keys(attributes)
    .sort()
    .map((key) => [key, leaf(attributes[key] ?? '')] as const);
  const instance = dir([
    ['attributes', dir(attributeEntries, { camel: false })],
    ['hostname', leaf(`${facts.name}.${facts.zone}.c.${facts.projectId}.internal`)],
    ['id', numberLeaf(facts.id)],
    ...(facts.machineType === undefined ? [] : [['machine-type', leaf(facts.machineType)] as const]),
    ['name', leaf(facts.name)],
    [
      'service-accounts',
      dir(
        [
          ['default', account],
          [facts.serviceAccount.email, account],
        ],
        { camel: false },
      ),
    ],
    ['zone', leaf(`projects/${facts.projectNumber}/zones/${facts.zone}`)],
  ]);
  const project = dir([
    ['attributes', dir([], { camel: false })],
    ['numeric-project-id', numberLeaf(facts.projectNumber)],
    ['project-id', leaf(facts.projectId)],
  ]);
  const universe = dir([['universe-domain', leaf(facts.universeDomain)]]);
  return dir([
    ['instance', instance],
    ['project', project],
    ...(facts.apiEndpoint === undefined
      ? []
      : [['sealroom', dir([['api-endpoint', leaf(facts.apiEndpoint)]])] as const]),
    ['universe', universe],
  ]);
}

/** Follows path segments from `root`; undefined when a segment is missing. */
export function findNode(root: MetadataDirectory, segments: readonly string[]): MetadataNode | undefined {
  let node: MetadataNode = root;
  for (const segment of segments) {
    if (node.kind !== 'dir') return undefined;
    const next: MetadataDirectory['entries'][number] | undefined = node.entries.find((e) => e.name === segment);
    if (!next) return undefined;
    node = next.node;
  }
  return node;
}

/** The `?recursive=true` JSON value of a node. */
export function toJsonValue(node: MetadataNode): JsonValue {
  if (node.kind === 'leaf') return node.json;
  const out: Record<string, JsonValue> = {};
  for (const entry of node.entries) out[entry.jsonKey] = toJsonValue(entry.node);
  return out;
}

/** JSON text where `{digits}` values are written as bare numbers (JSON has no size limit on them). */
export function stringifyJson(value: JsonValue): string {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => stringifyJson(v)).join(',')}]`;
  if (value instanceof JsonDigits) return value.digits;
  const record = value as Record<string, JsonValue>;
  return `{${Object.entries(record)
    .map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`)
    .join(',')}}`;
}

/** A directory listing: one name per line, directories with a trailing slash. */
export function listDirectory(node: MetadataDirectory): string[] {
  const names = node.entries.map((e) => (e.node.kind === 'dir' ? `${e.name}/` : e.name));
  return [...names, ...(node.dynamic ?? [])].sort();
}

/** `?recursive=true&alt=text`: one `path value` line per leaf value, paths relative to the node. */
export function toTextLines(node: MetadataNode, prefix = ''): string[] {
  if (node.kind === 'leaf') {
    const values = Array.isArray(node.json) ? (node.json as string[]) : [node.text];
    return values.map((v) => (prefix === '' ? v : `${prefix} ${v}`));
  }
  return node.entries.flatMap((e) => toTextLines(e.node, prefix === '' ? e.name : `${prefix}/${e.name}`));
}

/** The ETag of a node: changes whenever anything under it changes (what `wait_for_change` compares). */
export function etagOf(node: MetadataNode | undefined): string {
  const content = node === undefined ? '\0missing' : stringifyJson(toJsonValue(node));
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

function toCamel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
