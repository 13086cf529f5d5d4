// Compute Engine v1 REST routes for instances: parse and validate, call the domain, answer GCE's shapes.
import type { ImageFamily } from '@sealroom/attest';
import { type Caller, fromBase64Lenient, toBase64 } from '@sealroom/core';
import { type ApiRoute, parseWith, reply } from '@sealroom/transport';
import { z } from 'zod';
import { ComputeError } from './errors.ts';
import { resolveMachineType } from './machine-types.ts';
import { instanceUrl, toInstanceJson, toOperationJson } from './json.ts';
import type { SerialStreams } from './serial-stream.ts';
import type { InstanceService } from './service.ts';

const ZONE = '/compute/v1/projects/{project}/zones/{zone}';
const INSTANCE = `${ZONE}/instances/{instance}`;
const METADATA_KEY = /^[a-zA-Z0-9_-]{1,128}$/;
/** Compute Engine's limit for all metadata of an instance. */
const MAX_METADATA_BYTES = 512 * 1024;
const LABEL = /^[a-z0-9_-]{0,63}$/;
const IMAGE_FAMILY = /(?:^|\/)(?:family\/(confidential-space(?:-debug)?)|(confidential-space(?:-debug)?)-\d+)$/;

const CreateBody = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    machineType: z.string().optional(),
    serviceAccounts: z
      .array(z.object({ email: z.string(), scopes: z.array(z.string()).optional() }).strict())
      .optional(),
    metadata: z
      .object({
        kind: z.string().optional(),
        fingerprint: z.string().optional(),
        items: z.array(z.object({ key: z.string(), value: z.string().optional() }).strict()).optional(),
      })
      .strict()
      .optional(),
    labels: z.record(z.string(), z.string()).optional(),
    disks: z.array(z.record(z.string(), z.unknown())).optional(),
    // Accepted and recorded, as the seed's command line sets them; the host agent does not act on them
    // (machineType and the boot disk's diskSizeGb above set the instance's memory and disk limits).
    tags: z.object({ items: z.array(z.string()).optional() }).optional(),
    scheduling: z.record(z.string(), z.unknown()).optional(),
    networkInterfaces: z.array(z.record(z.string(), z.unknown())).optional(),
    confidentialInstanceConfig: z.record(z.string(), z.unknown()).optional(),
    shieldedInstanceConfig: z.record(z.string(), z.unknown()).optional(),
    // gcloud always sends both (false unless asked otherwise); Sealroom supports neither being true.
    canIpForward: z.boolean().optional(),
    deletionProtection: z.boolean().optional(),
  })
  .strict();

const RECORDED_FIELDS = [
  'description',
  'machineType',
  'disks',
  'tags',
  'scheduling',
  'networkInterfaces',
  'confidentialInstanceConfig',
  'shieldedInstanceConfig',
  'canIpForward',
  'deletionProtection',
] as const;

/** instances.setMetadata's body: the whole Metadata resource, with the fingerprint read before the change. */
const SetMetadataBody = z
  .object({
    kind: z.string().optional(),
    fingerprint: z.string().min(1, "Required field 'fingerprint' not specified"),
    items: z.array(z.object({ key: z.string(), value: z.string().optional() }).strict()).optional(),
  })
  .strict();

const ExecBody = z.object({ command: z.array(z.string()).min(1).max(256) }).strict();

function bad(message: string): ComputeError {
  return new ComputeError('ERR_COMPUTE_BAD_REQUEST', message);
}

/** The boot disk's source image names the family: `…/images/family/confidential-space[-debug]` or a dated image. */
export function imageFamilyOf(disks: readonly Record<string, unknown>[] | undefined): ImageFamily {
  const boot = disks?.find((d) => d.boot === true) ?? disks?.[0];
  const params = boot?.initializeParams as { sourceImage?: unknown } | undefined;
  const source = typeof params?.sourceImage === 'string' ? params.sourceImage : '';
  const match = IMAGE_FAMILY.exec(source);
  const family = match?.[1] ?? match?.[2];
  if (!family)
    throw new ComputeError(
      'ERR_COMPUTE_IMAGE_FAMILY',
      `The boot disk's sourceImage '${source.slice(0, 200)}' is not in the confidential-space or confidential-space-debug family.`,
    );
  return family as ImageFamily;
}

/** Metadata items as Compute Engine checks them: key syntax, one entry per key, 512 KiB in all. */
function toMetadataItems(items: readonly { key: string; value?: string | undefined }[]) {
  const seen = new Set<string>();
  const metadata = items.map((item) => {
    if (!METADATA_KEY.test(item.key) || seen.has(item.key))
      throw bad(`Invalid value for field 'resource.metadata': '${item.key.slice(0, 128)}'.`);
    seen.add(item.key);
    return { key: item.key, value: item.value ?? '' };
  });
  if (metadata.reduce((n, i) => n + i.key.length + Buffer.byteLength(i.value), 0) > MAX_METADATA_BYTES)
    throw bad('The metadata of the instance exceeds 512 KiB.');
  return metadata;
}

function parseCreate(body: unknown) {
  const input = parseWith(CreateBody, body);
  const metadata = toMetadataItems(input.metadata?.items ?? []);
  if (input.canIpForward)
    throw bad(`Invalid value for field 'resource.canIpForward': instances do not forward packets.`);
  if (input.deletionProtection)
    throw bad(`Invalid value for field 'resource.deletionProtection': deletion protection is not supported.`);
  const labels = input.labels ?? {};
  for (const [k, v] of Object.entries(labels))
    if (!LABEL.test(k) || k === '' || !LABEL.test(v)) throw bad(`Invalid value for field 'resource.labels': '${k}'.`);
  const accounts = input.serviceAccounts ?? [];
  const account = accounts[0];
  if (accounts.length !== 1 || !account)
    throw new ComputeError(
      'ERR_COMPUTE_SERVICE_ACCOUNT',
      'A Confidential Space instance needs exactly one service account.',
    );
  // An unknown machine type is refused here: the instance's memory limit comes from it.
  resolveMachineType(input.machineType);
  const recorded: Record<string, unknown> = {};
  for (const field of RECORDED_FIELDS) if (input[field] !== undefined) recorded[field] = input[field];
  return {
    name: input.name,
    imageFamily: imageFamilyOf(input.disks),
    serviceAccount: { email: account.email.toLowerCase(), scopes: account.scopes ?? [] },
    metadata,
    labels,
    recorded,
  };
}

function userOf(caller: Caller | undefined): string {
  return caller?.principal.replace(/^[a-zA-Z]+:/, '') ?? '';
}

export function computeRoutes(
  compute: InstanceService,
  options: { now: () => number; streams: SerialStreams },
): ApiRoute[] {
  const p = (params: Readonly<Record<string, string>>) =>
    [params.project as string, params.zone as string, params.instance as string] as const;
  const lifecycle =
    (verb: 'start' | 'stop' | 'reset'): ApiRoute['handler'] =>
    async (req) => {
      const [project, zone, name] = p(req.params);
      const instance = await compute[verb](req.caller, project, zone, name);
      return toOperationJson(req.baseUrl, instance, verb, userOf(req.caller), options.now());
    };
  return [
    {
      // gcloud reads the project and the zone before it creates an instance.
      method: 'GET',
      path: '/compute/v1/projects/{project}',
      handler: async (req) => {
        const ref = await compute.getProject(req.caller, req.params.project as string);
        return {
          kind: 'compute#project',
          id: ref.projectNumber,
          name: ref.projectId,
          selfLink: `${req.baseUrl}/compute/v1/projects/${ref.projectId}`,
        };
      },
    },
    {
      method: 'GET',
      path: ZONE,
      handler: async (req) => {
        const { project, zone } = req.params as { project: string; zone: string };
        const ref = await compute.getZone(req.caller, project, zone);
        const base = `${req.baseUrl}/compute/v1/projects/${ref.projectId}`;
        return {
          kind: 'compute#zone',
          name: zone,
          description: zone,
          status: 'UP',
          region: `${base}/regions/${zone.replace(/-[a-z]$/, '')}`,
          selfLink: `${base}/zones/${zone}`,
        };
      },
    },
    {
      method: 'POST',
      path: `${ZONE}/instances`,
      handler: async (req) => {
        const { project, zone } = req.params as { project: string; zone: string };
        const instance = await compute.create(req.caller, project, zone, parseCreate(req.body));
        return toOperationJson(req.baseUrl, instance, 'insert', userOf(req.caller), options.now());
      },
    },
    {
      method: 'GET',
      path: `${ZONE}/instances`,
      handler: async (req) => {
        const { project, zone } = req.params as { project: string; zone: string };
        const items = await compute.list(req.caller, project, zone);
        return {
          kind: 'compute#instanceList',
          id: `projects/${project}/zones/${zone}/instances`,
          ...(items.length > 0 ? { items: items.map((i) => toInstanceJson(req.baseUrl, i)) } : {}),
          selfLink: `${req.baseUrl}${ZONE.replace('{project}', project).replace('{zone}', zone)}/instances`,
        };
      },
    },
    {
      method: 'GET',
      path: INSTANCE,
      handler: async (req) => toInstanceJson(req.baseUrl, await compute.get(req.caller, ...p(req.params))),
    },
    {
      method: 'DELETE',
      path: INSTANCE,
      handler: async (req) => {
        const instance = await compute.delete(req.caller, ...p(req.params));
        return toOperationJson(req.baseUrl, instance, 'delete', userOf(req.caller), options.now());
      },
    },
    { method: 'POST', path: `${INSTANCE}/stop`, body: 'none', handler: lifecycle('stop') },
    { method: 'POST', path: `${INSTANCE}/start`, body: 'none', handler: lifecycle('start') },
    // The custom-verb spelling of the same two methods, for clients that use Google's `:verb` convention.
    { method: 'POST', path: `${INSTANCE}:stop`, body: 'none', handler: lifecycle('stop') },
    { method: 'POST', path: `${INSTANCE}:start`, body: 'none', handler: lifecycle('start') },
    { method: 'POST', path: `${INSTANCE}/reset`, body: 'none', handler: lifecycle('reset') },
    {
      method: 'POST',
      path: `${INSTANCE}/setMetadata`,
      handler: async (req) => {
        const body = parseWith(SetMetadataBody, req.body);
        const instance = await compute.setMetadata(req.caller, ...p(req.params), {
          // The fingerprint is bytes: gcloud decodes the one it read and sends it back in the URL-safe alphabet
          // without padding. Compared by its bytes, in the encoding the instance shows.
          fingerprint: toBase64(fromBase64Lenient(body.fingerprint, 'metadata.fingerprint')),
          items: toMetadataItems(body.items ?? []),
        });
        return toOperationJson(req.baseUrl, instance, 'setMetadata', userOf(req.caller), options.now());
      },
    },
    { method: 'POST', path: `${INSTANCE}:reset`, body: 'none', handler: lifecycle('reset') },
    {
      method: 'GET',
      path: `${INSTANCE}/serialPort`,
      handler: async (req) => {
        const [project, zone, name] = p(req.params);
        const port = req.query.port ?? '1';
        if (port !== '1') throw bad('Only serial port 1 exists on a Sealroom instance.');
        const all = Buffer.from(await compute.serialOutput(req.caller, project, zone, name));
        const start = Math.max(0, Math.min(Number(req.query.start ?? 0) || 0, all.length));
        return {
          kind: 'compute#serialPortOutput',
          contents: all.subarray(start).toString('utf8'),
          start: String(start),
          next: String(all.length),
          selfLink: `${instanceUrl(req.baseUrl, { projectId: project, zone, name })}/serialPort`,
        };
      },
    },
    {
      method: 'GET',
      path: '/compute/v1/projects/{project}/aggregated/instances',
      handler: async (req) => {
        const project = req.params.project as string;
        const zones: Record<string, { instances: Record<string, unknown>[] }> = {};
        for (const instance of await compute.listAggregated(req.caller, project)) {
          (zones[`zones/${instance.zone}`] ??= { instances: [] }).instances.push(toInstanceJson(req.baseUrl, instance));
        }
        return {
          kind: 'compute#instanceAggregatedList',
          id: `projects/${project}/aggregated/instances`,
          items: zones,
          selfLink: `${req.baseUrl}/compute/v1/projects/${project}/aggregated/instances`,
        };
      },
    },
    {
      // Sealroom extension: the serial console as server-sent events (`event: serial`, `instance`, `end`);
      // `Last-Event-ID` or `?after=` resumes after a line already seen.
      method: 'GET',
      path: `${INSTANCE}/serialPort:stream`,
      body: 'none',
      handler: async (req) => {
        const [project, zone, name] = p(req.params);
        const resume = req.headers['last-event-id'] ?? req.query.after ?? '0';
        const afterSeq = /^\d{1,15}$/.test(String(resume)) ? Number(resume) : 0;
        // Checked before the stream starts, so a refusal is an ordinary error response.
        await compute.serialSince(req.caller, project, zone, name, afterSeq, 0);
        const stream = options.streams.open({
          poll: (after, limit) => compute.serialSince(req.caller, project, zone, name, after, limit),
          afterSeq,
          endAtMs: req.caller?.expiresAt ?? options.now(),
          now: options.now,
        });
        return reply(stream, 200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
      },
    },
    {
      // Sealroom extension: what the instance's current attestation token claims, decoded; never the token.
      method: 'GET',
      path: `${INSTANCE}/attestationClaims`,
      handler: async (req) => {
        const decoded = await compute.tokenClaims(req.caller, ...p(req.params));
        if (!decoded)
          throw new ComputeError(
            'ERR_COMPUTE_NO_TOKEN',
            'The instance holds no attestation token now (not booted yet, refused, or stopped).',
          );
        return { header: decoded.header, claims: decoded.claims };
      },
    },
    {
      // Sealroom's `compute ssh --command` for debug instances; hardened instances refuse it.
      method: 'POST',
      path: `${INSTANCE}:exec`,
      handler: async (req) => {
        const body = parseWith(ExecBody, req.body);
        const result = await compute.exec(req.caller, ...p(req.params), body.command);
        return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
      },
    },
  ];
}
