// Compute Engine firewall rules (compute v1 `Firewall`): Google's request shape parsed and checked, the stored
// resource, its JSON, and the reduced rule the host enforces.
import { IP_PROTOCOL_NUMBERS, type FirewallRule, PORT_PROTOCOLS, parseCidr } from '@sealroom/launcher';
import { z } from 'zod';
import { parseWith } from '@sealroom/transport';
import { ComputeError } from './errors.ts';

const NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TAG_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_PATTERN = /^(\d{1,5})(?:-(\d{1,5}))?$/;
const DEFAULT_PRIORITY = 1000;
const EVERYWHERE = '0.0.0.0/0';

const RuleEntry = z.object({ IPProtocol: z.string(), ports: z.array(z.string()).optional() }).strict();

const FirewallBody = z
  .object({
    kind: z.string().optional(),
    name: z.string(),
    description: z.string().max(2048).optional(),
    network: z.string().optional(),
    priority: z.number().int().optional(),
    direction: z.enum(['INGRESS', 'EGRESS']).optional(),
    allowed: z.array(RuleEntry).optional(),
    denied: z.array(RuleEntry).optional(),
    sourceRanges: z.array(z.string()).optional(),
    destinationRanges: z.array(z.string()).optional(),
    sourceTags: z.array(z.string()).optional(),
    sourceServiceAccounts: z.array(z.string()).optional(),
    targetTags: z.array(z.string()).optional(),
    targetServiceAccounts: z.array(z.string()).optional(),
    disabled: z.boolean().optional(),
    logConfig: z.object({ enable: z.boolean().optional(), metadata: z.string().optional() }).strict().optional(),
  })
  .strict();

/** The stored firewall rule, in Google's field names. */
export interface Firewall {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly description: string;
  readonly priority: number;
  readonly direction: 'INGRESS' | 'EGRESS';
  readonly action: 'allow' | 'deny';
  readonly entries: readonly { IPProtocol: string; ports?: readonly string[] }[];
  readonly sourceRanges: readonly string[];
  readonly destinationRanges: readonly string[];
  readonly targetTags: readonly string[];
  readonly targetServiceAccounts: readonly string[];
  readonly disabled: boolean;
  readonly logEnabled: boolean;
  readonly createTime: number;
}

export type FirewallInput = Omit<Firewall, 'id' | 'projectId' | 'projectNumber' | 'createTime'>;

function bad(message: string): ComputeError {
  return new ComputeError('ERR_COMPUTE_BAD_REQUEST', message);
}

function checkRanges(field: string, ranges: readonly string[]): string[] {
  if (ranges.length > 5000) throw bad(`Invalid value for field 'resource.${field}': too many ranges.`);
  return ranges.map((range) => {
    if (range.includes(':'))
      throw bad(`Invalid value for field 'resource.${field}': '${range.slice(0, 64)}'. IPv6 ranges are not supported.`);
    if (!parseCidr(range)) throw bad(`Invalid value for field 'resource.${field}': '${range.slice(0, 64)}'.`);
    return range;
  });
}

function protocolOf(text: string): 'all' | number {
  const name = text.toLowerCase();
  if (name === 'all') return 'all';
  if (IP_PROTOCOL_NUMBERS[name] !== undefined) return IP_PROTOCOL_NUMBERS[name];
  if (/^\d{1,3}$/.test(name) && Number(name) <= 255) return Number(name);
  throw bad(`Invalid value for field 'resource.allowed[].IPProtocol': '${text.slice(0, 32)}'.`);
}

function checkEntries(entries: readonly z.infer<typeof RuleEntry>[]): { IPProtocol: string; ports?: string[] }[] {
  if (entries.length > 256) throw bad(`Invalid value for field 'resource.allowed': too many entries.`);
  return entries.map((entry) => {
    const protocol = protocolOf(entry.IPProtocol);
    const ports = entry.ports ?? [];
    if (ports.length > 0 && (protocol === 'all' || !PORT_PROTOCOLS.has(protocol)))
      throw bad(`Invalid value for field 'resource.allowed[].ports': ports need tcp, udp or sctp.`);
    for (const port of ports) {
      const match = PORT_PATTERN.exec(port);
      const from = Number(match?.[1]);
      const to = match?.[2] === undefined ? from : Number(match[2]);
      if (!match || from < 0 || to > 65_535 || from > to)
        throw bad(`Invalid value for field 'resource.allowed[].ports': '${port.slice(0, 32)}'.`);
    }
    return { IPProtocol: entry.IPProtocol.toLowerCase(), ...(ports.length > 0 ? { ports } : {}) };
  });
}

/** Parses a `compute.firewalls.insert` body; only the `default` network exists. */
export function parseFirewall(body: unknown): FirewallInput {
  const input = parseWith(FirewallBody, body);
  if (!NAME_PATTERN.test(input.name))
    throw bad(
      `Invalid value for field 'resource.name': '${input.name.slice(0, 64)}'. Must be a match of regex '${NAME_PATTERN.source}'`,
    );
  if (input.network !== undefined && !/(^|\/)global\/networks\/default$|^default$/.test(input.network))
    throw bad(
      `Invalid value for field 'resource.network': '${input.network.slice(0, 200)}'. Only the default network exists.`,
    );
  const priority = input.priority ?? DEFAULT_PRIORITY;
  if (priority < 0 || priority > 65_535) throw bad(`Invalid value for field 'resource.priority': '${priority}'.`);
  const allowed = input.allowed ?? [];
  const denied = input.denied ?? [];
  if (allowed.length > 0 === denied.length > 0)
    throw bad('Exactly one of allowed or denied must be set on a firewall rule.');
  if ((input.sourceTags ?? []).length > 0 || (input.sourceServiceAccounts ?? []).length > 0)
    throw bad('sourceTags and sourceServiceAccounts are not supported by Sealroom: use sourceRanges.');
  const direction = input.direction ?? 'INGRESS';
  for (const tag of input.targetTags ?? [])
    if (!TAG_PATTERN.test(tag)) throw bad(`Invalid value for field 'resource.targetTags': '${tag.slice(0, 64)}'.`);
  if ((input.targetTags ?? []).length > 0 && (input.targetServiceAccounts ?? []).length > 0)
    throw bad('targetTags and targetServiceAccounts cannot be used together.');
  const sourceRanges = checkRanges('sourceRanges', input.sourceRanges ?? []);
  const destinationRanges = checkRanges('destinationRanges', input.destinationRanges ?? []);
  return {
    name: input.name,
    description: input.description ?? '',
    priority,
    direction,
    action: allowed.length > 0 ? 'allow' : 'deny',
    entries: checkEntries(allowed.length > 0 ? allowed : denied),
    // Compute Engine's defaults: an ingress rule with no source applies to every source, an egress rule with no
    // destination to every destination.
    sourceRanges: direction === 'INGRESS' && sourceRanges.length === 0 ? [EVERYWHERE] : sourceRanges,
    destinationRanges: direction === 'EGRESS' && destinationRanges.length === 0 ? [EVERYWHERE] : destinationRanges,
    targetTags: input.targetTags ?? [],
    targetServiceAccounts: (input.targetServiceAccounts ?? []).map((a) => a.toLowerCase()),
    disabled: input.disabled ?? false,
    logEnabled: input.logConfig?.enable ?? false,
  };
}

/** The rule as the host enforces it. */
export function toFirewallRule(firewall: Firewall): FirewallRule {
  return {
    name: firewall.name,
    priority: firewall.priority,
    direction: firewall.direction,
    action: firewall.action,
    matches: firewall.entries.map((entry) => ({
      protocol: protocolOf(entry.IPProtocol),
      ports: (entry.ports ?? []).map((port) => {
        const [from, to] = port.split('-').map(Number);
        return { from: from as number, to: to ?? (from as number) };
      }),
    })),
    sourceRanges: firewall.sourceRanges,
    destinationRanges: firewall.destinationRanges,
    targetTags: firewall.targetTags,
    targetServiceAccounts: firewall.targetServiceAccounts,
    disabled: firewall.disabled,
  };
}
