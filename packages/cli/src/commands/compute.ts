// `sealroom compute instances …` and `compute ssh`: the operator's gcloud command lines for Confidential Space VMs.
import { readFileSync } from 'node:fs';
import { parseMetadataFlag } from '@sealroom/launcher';
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { firewallCommands } from './compute-firewall.ts';

const seg = (value: unknown) => encodeURIComponent(String(value));
const ZONE_FLAG: FlagSpec = {
  type: 'string',
  description: 'Zone of the instance (e.g. us-central1-a); default the compute/zone property.',
};
const SCOPE_ALIASES: Readonly<Record<string, string>> = {
  'cloud-platform': 'https://www.googleapis.com/auth/cloud-platform',
  'userinfo-email': 'https://www.googleapis.com/auth/userinfo.email',
};

function zoneOf(ctx: CommandContext): string {
  const zone =
    (ctx.flags.zone as string | undefined) ?? ctx.env.CLOUDSDK_COMPUTE_ZONE ?? ctx.config.current.compute?.zone;
  if (!zone)
    throw new UsageError(
      'Specify --zone, or set a default: `sealroom config set compute/zone ZONE` (or CLOUDSDK_COMPUTE_ZONE).',
    );
  return zone;
}

const instancesPath = (ctx: CommandContext) =>
  `/compute/v1/projects/${seg(ctx.project())}/zones/${seg(zoneOf(ctx))}/instances`;
const instancePath = (ctx: CommandContext) => `${instancesPath(ctx)}/${seg(ctx.args.NAME)}`;

const list = (value: unknown): string[] => (Array.isArray(value) ? value : value === undefined ? [] : [String(value)]);

/** `--metadata` (gcloud's dict syntax, repeatable) and `--metadata-from-file KEY=PATH`; a later key wins. */
function metadataItems(ctx: CommandContext): { key: string; value: string }[] {
  const map = new Map<string, string>();
  for (const arg of list(ctx.flags.metadata))
    for (const [k, v] of Object.entries(parseMetadataFlag(arg))) map.set(k, v);
  for (const arg of list(ctx.flags['metadata-from-file']))
    for (const [k, path] of Object.entries(parseMetadataFlag(arg))) map.set(k, readFileSync(path, 'utf8'));
  return [...map].map(([key, value]) => ({ key, value }));
}

/** The instance resource of `compute instances create`, with the seed's other flags recorded as GCE would. */
export function toInstanceBody(ctx: CommandContext): Record<string, unknown> {
  const family = (ctx.flags['image-family'] as string | undefined) ?? 'confidential-space';
  const imageProject = (ctx.flags['image-project'] as string | undefined) ?? 'confidential-space-images';
  const sourceImage = ctx.flags.image
    ? `projects/${imageProject}/global/images/${ctx.flags.image as string}`
    : `projects/${imageProject}/global/images/family/${family}`;
  const scopes = list(ctx.flags.scopes)
    .flatMap((s) => s.split(','))
    .filter(Boolean)
    .map((s) => SCOPE_ALIASES[s] ?? s);
  const email = ctx.flags['service-account'] as string | undefined;
  if (!email) throw new UsageError('Specify --service-account: the workload runs as that service account.');
  const tags = list(ctx.flags.tags)
    .flatMap((t) => t.split(','))
    .filter(Boolean);
  const labels = list(ctx.flags.labels).flatMap((l) => Object.entries(parseMetadataFlag(l)));
  const network = (ctx.flags.network as string | undefined) ?? 'default';
  return {
    name: String(ctx.args.NAME),
    ...(ctx.flags['machine-type']
      ? { machineType: `zones/${zoneOf(ctx)}/machineTypes/${ctx.flags['machine-type']}` }
      : {}),
    disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage, ...bootDiskSize(ctx) } }],
    serviceAccounts: [{ email, scopes: scopes.length > 0 ? scopes : [SCOPE_ALIASES['cloud-platform']] }],
    metadata: { items: metadataItems(ctx) },
    ...(labels.length > 0 ? { labels: Object.fromEntries(labels) } : {}),
    ...(tags.length > 0 ? { tags: { items: tags } } : {}),
    ...(ctx.flags['confidential-compute'] ? { confidentialInstanceConfig: { enableConfidentialCompute: true } } : {}),
    ...(ctx.flags['shielded-secure-boot'] ? { shieldedInstanceConfig: { enableSecureBoot: true } } : {}),
    ...(ctx.flags['maintenance-policy']
      ? { scheduling: { onHostMaintenance: String(ctx.flags['maintenance-policy']) } }
      : {}),
    networkInterfaces: [
      {
        network: `global/networks/${network}`,
        ...(ctx.flags['no-address'] ? {} : { accessConfigs: [{ name: 'external-nat', type: 'ONE_TO_ONE_NAT' }] }),
      },
    ],
  };
}

const CREATE_FLAGS: Readonly<Record<string, FlagSpec>> = {
  zone: ZONE_FLAG,
  'service-account': { type: 'string', description: 'Service account the instance (and its workload) runs as.' },
  'image-family': {
    type: 'string',
    description: 'confidential-space (hardened, default) or confidential-space-debug.',
  },
  'image-project': { type: 'string', description: 'Recorded (confidential-space-images).' },
  image: { type: 'string', description: 'A dated image of a family, e.g. confidential-space-debug-250100.' },
  metadata: { type: 'string', multiple: true, description: 'KEY=VALUE,… or ^~^KEY=VALUE~… (gcloud topic escaping).' },
  'metadata-from-file': { type: 'string', multiple: true, description: 'KEY=PATH: the value is the file content.' },
  labels: { type: 'string', multiple: true, description: 'KEY=VALUE,… labels.' },
  scopes: { type: 'string', multiple: true, description: 'OAuth scopes of the service account (recorded).' },
  tags: { type: 'string', multiple: true, description: 'Network tags (recorded).' },
  'confidential-compute': { type: 'boolean', description: 'Recorded: every Sealroom instance is attested.' },
  'shielded-secure-boot': { type: 'boolean', description: 'Recorded.' },
  'maintenance-policy': { type: 'string', description: 'Recorded (TERMINATE).' },
  network: {
    type: 'string',
    description: 'Recorded: each instance gets its own network namespace (see docs/compute.md).',
  },
  'no-address': { type: 'boolean', description: 'Recorded: no external address.' },
  'machine-type': { type: 'string', description: 'The machine type: its memory is the memory limit (n1-standard-1).' },
  'boot-disk-size': {
    type: 'string',
    description: 'The boot disk size (e.g. 20GB): the disk is 7 GiB, or this less 5 GiB when larger.',
  },
};

/** `--boot-disk-size=20GB` (GB by default, or TB) as the boot disk's `diskSizeGb`, as gcloud sends it. */
function bootDiskSize(ctx: { flags: Record<string, unknown> }): { diskSizeGb?: string } {
  const flag = ctx.flags['boot-disk-size'];
  if (flag === undefined) return {};
  const match = /^(\d{1,6})\s*(GB|TB)?$/i.exec(String(flag));
  if (!match) throw new UsageError(`--boot-disk-size: '${String(flag).slice(0, 32)}' is not a size like 20GB.`);
  const gb = Number(match[1]) * (match[2]?.toUpperCase() === 'TB' ? 1024 : 1);
  return { diskSizeGb: String(gb) };
}

function instanceCommand(verb: string, summary: string, run: CommandSpec['run'], flags = {}): CommandSpec {
  return {
    path: ['compute', 'instances', verb],
    summary,
    args: [{ name: 'NAME', required: true }],
    flags: { zone: ZONE_FLAG, ...flags },
    run,
  };
}

type MetadataItems = { key: string; value?: string }[];

/**
 * gcloud's add-metadata and remove-metadata: read the instance, change its items, write them back with the
 * fingerprint read (instances.setMetadata), so a change made meanwhile by someone else is refused, not lost.
 */
async function changeMetadata(ctx: CommandContext, change: (items: MetadataItems) => MetadataItems) {
  const instance = await ctx.api.request<{ metadata?: { fingerprint?: string; items?: MetadataItems } }>(
    'GET',
    instancePath(ctx),
  );
  const before = instance.metadata?.items ?? [];
  const items = change(before);
  if (JSON.stringify(items) === JSON.stringify(before)) {
    ctx.err(`No change requested; skipping update for [${ctx.args.NAME as string}].`);
    return undefined;
  }
  await ctx.api.request('POST', `${instancePath(ctx)}/setMetadata`, {
    body: { fingerprint: instance.metadata?.fingerprint ?? '', items },
  });
  ctx.err(`Updated [${ctx.args.NAME as string}]; the workload reads metadata when it (re)starts.`);
  return undefined;
}

export const computeCommands: CommandSpec[] = [
  {
    path: ['compute', 'instances', 'create'],
    summary: 'Creates an instance that boots the launcher with the image named in its metadata.',
    args: [{ name: 'NAME', required: true }],
    flags: CREATE_FLAGS,
    async run(ctx) {
      await ctx.api.request('POST', instancesPath(ctx), { body: toInstanceBody(ctx) });
      const instance = await ctx.api.request('GET', instancePath(ctx));
      ctx.err(`Created [${instance.selfLink as string}].`);
      return ctx.flags.format === undefined ? undefined : instance;
    },
  },
  instanceCommand('describe', 'Shows an instance.', (ctx) => ctx.api.request('GET', instancePath(ctx))),
  {
    path: ['compute', 'instances', 'list'],
    summary: 'Lists the instances of a zone.',
    defaultFormat:
      'table(name, zone.basename():label=ZONE, machineType.basename():label=MACHINE_TYPE, networkInterfaces[0].networkIP:label=INTERNAL_IP, status)',
    flags: { zone: ZONE_FLAG },
    async run(ctx) {
      const result = await ctx.api.request<{ items?: Record<string, unknown>[] }>('GET', instancesPath(ctx));
      return result.items ?? [];
    },
  },
  instanceCommand(
    'add-metadata',
    'Adds or updates metadata items of an instance (instances.setMetadata, checked against the fingerprint read).',
    async (ctx) => {
      const added = metadataItems(ctx);
      if (added.length === 0)
        throw new UsageError('Specify --metadata KEY=VALUE[,…] or --metadata-from-file KEY=PATH.');
      return changeMetadata(ctx, (items) => {
        const map = new Map(items.map((i) => [i.key, i.value ?? '']));
        for (const { key, value } of added) map.set(key, value);
        return [...map].map(([key, value]) => ({ key, value }));
      });
    },
    {
      metadata: CREATE_FLAGS.metadata,
      'metadata-from-file': CREATE_FLAGS['metadata-from-file'],
    },
  ),
  instanceCommand(
    'remove-metadata',
    'Removes metadata items of an instance by key (--keys), or all of them (--all).',
    async (ctx) => {
      const keys = new Set(list(ctx.flags.keys).flatMap((k) => k.split(',').filter(Boolean)));
      if (ctx.flags.all !== true && keys.size === 0) throw new UsageError('Specify --keys KEY[,…] or --all.');
      return changeMetadata(ctx, (items) => (ctx.flags.all === true ? [] : items.filter((i) => !keys.has(i.key))));
    },
    {
      keys: { type: 'string', multiple: true, description: 'KEY[,KEY…]: the metadata keys to remove.' },
      all: { type: 'boolean', description: 'Remove every metadata item.' },
    },
  ),
  instanceCommand('delete', 'Deletes an instance (its workload gets SIGTERM first).', async (ctx) => {
    await ctx.api.request('DELETE', instancePath(ctx));
    ctx.err(`Deleted [${ctx.args.NAME as string}].`);
    return undefined;
  }),
  instanceCommand('stop', 'Stops an instance: SIGTERM to the workload, SIGKILL after 10 s.', async (ctx) => {
    await ctx.api.request('POST', `${instancePath(ctx)}/stop`);
    ctx.err(`Stopped [${ctx.args.NAME as string}].`);
    return undefined;
  }),
  instanceCommand('start', 'Starts a stopped instance (a new boot: new platform, new token).', async (ctx) => {
    await ctx.api.request('POST', `${instancePath(ctx)}/start`);
    ctx.err(`Started [${ctx.args.NAME as string}].`);
    return undefined;
  }),
  instanceCommand(
    'reset',
    'Hard-resets a running instance: the workload is killed at once (no SIGTERM), then it boots again.',
    async (ctx) => {
      await ctx.api.request('POST', `${instancePath(ctx)}/reset`);
      ctx.err(`Reset [${ctx.args.NAME as string}].`);
      return undefined;
    },
  ),
  instanceCommand(
    'get-serial-port-output',
    "Prints the instance's serial console: the launcher's log and redirected workload output.",
    async (ctx) => {
      const start = ctx.flags.start as string | undefined;
      const result = await ctx.api.request<{ contents: string }>('GET', `${instancePath(ctx)}/serialPort`, {
        query: { port: (ctx.flags.port as string | undefined) ?? '1', ...(start ? { start } : {}) },
      });
      if (ctx.flags.format !== undefined) return result;
      ctx.out(result.contents.replace(/\n$/, ''));
      return undefined;
    },
    {
      port: { type: 'string', description: 'Serial port (only 1).' },
      start: { type: 'string', description: 'Byte offset to start from.' },
    },
  ),
  {
    path: ['compute', 'ssh'],
    summary: 'Runs --command on a debug instance (hardened instances have no way in).',
    args: [{ name: 'NAME', required: true }],
    flags: {
      zone: ZONE_FLAG,
      command: {
        type: 'string',
        required: true,
        description: 'Command to run (through /bin/sh when the image has one).',
      },
      'tunnel-through-iap': { type: 'boolean', description: 'Accepted for compatibility.' },
    },
    async run(ctx) {
      const result = await ctx.api.request<{ exitCode: number; stdout: string; stderr: string }>(
        'POST',
        `${instancePath(ctx)}:exec`,
        { body: { command: [String(ctx.flags.command)] } },
      );
      if (result.stdout) ctx.out(result.stdout.replace(/\n$/, ''));
      if (result.stderr) ctx.err(result.stderr.replace(/\n$/, ''));
      if (result.exitCode !== 0) throw new UsageError(`The command exited with ${result.exitCode}.`);
      return undefined;
    },
  },
  ...firewallCommands,
];
