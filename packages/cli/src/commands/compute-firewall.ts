// `sealroom compute firewall-rules create|list|describe|delete`: gcloud's flags for the default network's rules.
import type { CommandContext, CommandSpec } from '../command.ts';
import { UsageError } from '../command.ts';

const seg = (value: unknown) => encodeURIComponent(String(value));
const firewallsPath = (ctx: CommandContext) => `/compute/v1/projects/${seg(ctx.project())}/global/firewalls`;
const csv = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [String(value)])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** `tcp:80,tcp:8000-8080,udp,all` → Compute Engine's `[{IPProtocol, ports}]`, one entry per protocol. */
export function parseRulesFlag(items: readonly string[]): { IPProtocol: string; ports?: string[] }[] {
  const byProtocol = new Map<string, string[]>();
  for (const item of items) {
    const [protocol = '', port, extra] = item.split(':');
    if (protocol === '' || extra !== undefined)
      throw new UsageError(`Invalid rule '${item}': use PROTOCOL[:PORT[-PORT]].`);
    const ports = byProtocol.get(protocol.toLowerCase()) ?? [];
    if (port !== undefined) ports.push(port);
    byProtocol.set(protocol.toLowerCase(), ports);
  }
  return [...byProtocol].map(([IPProtocol, ports]) => (ports.length > 0 ? { IPProtocol, ports } : { IPProtocol }));
}

/** The Firewall resource of `firewall-rules create`, as gcloud builds it. */
export function toFirewallBody(ctx: CommandContext): Record<string, unknown> {
  const direction = String(ctx.flags.direction ?? 'INGRESS').toUpperCase();
  if (direction !== 'INGRESS' && direction !== 'EGRESS')
    throw new UsageError('--direction must be INGRESS or EGRESS (IN or OUT).');
  const allow = csv(ctx.flags.allow);
  const rules = csv(ctx.flags.rules);
  const action = ctx.flags.action === undefined ? undefined : String(ctx.flags.action).toUpperCase();
  if (allow.length > 0 && (action !== undefined || rules.length > 0))
    throw new UsageError('--allow cannot be combined with --action or --rules.');
  if (allow.length === 0 && (action === undefined || rules.length === 0))
    throw new UsageError('Specify --allow, or --action=ALLOW|DENY with --rules.');
  if (action !== undefined && action !== 'ALLOW' && action !== 'DENY')
    throw new UsageError('--action must be ALLOW or DENY.');
  const entries = parseRulesFlag(allow.length > 0 ? allow : rules);
  const network = String(ctx.flags.network ?? 'default');
  const priority = ctx.flags.priority === undefined ? undefined : Number(ctx.flags.priority);
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 65_535))
    throw new UsageError('--priority must be an integer from 0 to 65535.');
  return {
    name: String(ctx.args.NAME),
    network: `projects/${ctx.project()}/global/networks/${network}`,
    direction,
    [action === 'DENY' ? 'denied' : 'allowed']: entries,
    ...(priority === undefined ? {} : { priority }),
    ...(ctx.flags.description === undefined ? {} : { description: String(ctx.flags.description) }),
    ...(csv(ctx.flags['source-ranges']).length > 0 ? { sourceRanges: csv(ctx.flags['source-ranges']) } : {}),
    ...(csv(ctx.flags['destination-ranges']).length > 0
      ? { destinationRanges: csv(ctx.flags['destination-ranges']) }
      : {}),
    ...(csv(ctx.flags['target-tags']).length > 0 ? { targetTags: csv(ctx.flags['target-tags']) } : {}),
    ...(csv(ctx.flags['target-service-accounts']).length > 0
      ? { targetServiceAccounts: csv(ctx.flags['target-service-accounts']) }
      : {}),
    ...(ctx.flags.disabled ? { disabled: true } : {}),
  };
}

export const firewallCommands: CommandSpec[] = [
  {
    path: ['compute', 'firewall-rules', 'create'],
    summary: 'Creates a firewall rule of the default network; it applies at once to the instances it targets.',
    args: [{ name: 'NAME', required: true }],
    flags: {
      direction: { type: 'string', description: 'INGRESS (default) or EGRESS.' },
      action: { type: 'string', description: 'ALLOW or DENY, with --rules.' },
      rules: {
        type: 'string',
        multiple: true,
        description: 'PROTOCOL[:PORT[-PORT]],… the action applies to (all for every protocol).',
      },
      allow: {
        type: 'string',
        multiple: true,
        description: 'PROTOCOL[:PORT[-PORT]],… to allow (instead of --action/--rules).',
      },
      priority: { type: 'string', description: '0–65535, lower wins (default 1000).' },
      'source-ranges': {
        type: 'string',
        multiple: true,
        description: 'CIDRs a connection comes from (ingress; default 0.0.0.0/0).',
      },
      'destination-ranges': {
        type: 'string',
        multiple: true,
        description: 'CIDRs a connection goes to (egress; default 0.0.0.0/0).',
      },
      'target-tags': {
        type: 'string',
        multiple: true,
        description: 'Network tags of the instances it applies to (default all).',
      },
      'target-service-accounts': {
        type: 'string',
        multiple: true,
        description: 'Service accounts of the instances it applies to.',
      },
      network: { type: 'string', description: 'Only default exists.' },
      description: { type: 'string', description: 'Free text.' },
      disabled: { type: 'boolean', description: 'Create it disabled.' },
    },
    async run(ctx) {
      await ctx.api.request('POST', firewallsPath(ctx), { body: toFirewallBody(ctx) });
      const rule = await ctx.api.request('GET', `${firewallsPath(ctx)}/${seg(ctx.args.NAME)}`);
      ctx.err(`Created [${rule.selfLink as string}].`);
      return ctx.flags.format === undefined ? undefined : rule;
    },
  },
  {
    path: ['compute', 'firewall-rules', 'list'],
    summary: 'Lists the firewall rules of the project.',
    defaultFormat: 'table(name, direction, priority, sourceRanges, destinationRanges, targetTags, disabled)',
    flags: {},
    async run(ctx) {
      const result = await ctx.api.request<{ items?: Record<string, unknown>[] }>('GET', firewallsPath(ctx));
      return result.items ?? [];
    },
  },
  {
    path: ['compute', 'firewall-rules', 'describe'],
    summary: 'Shows a firewall rule.',
    args: [{ name: 'NAME', required: true }],
    flags: {},
    run: (ctx) => ctx.api.request('GET', `${firewallsPath(ctx)}/${seg(ctx.args.NAME)}`),
  },
  {
    path: ['compute', 'firewall-rules', 'delete'],
    summary: 'Deletes a firewall rule; running instances lose it at once.',
    args: [{ name: 'NAME', required: true }],
    flags: {},
    async run(ctx) {
      await ctx.api.request('DELETE', `${firewallsPath(ctx)}/${seg(ctx.args.NAME)}`);
      ctx.err(`Deleted [${ctx.args.NAME as string}].`);
      return undefined;
    },
  },
];
