// `sealroom artifacts …`: Artifact Registry repositories (create, list, describe, IAM) and docker images.
import { computeKeyId, decodeRawStdBase64, fetchAttachments, importImage, parseImportSource } from '@sealroom/builder';
import { formatImageReference } from '@sealroom/registry';
import type { CommandContext, CommandSpec } from '../command.ts';
import { runStep } from '../steps.ts';
import { UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding } from '../iam-helpers.ts';
import { parseImageArg, registryClientFor } from './supply-chain-helpers.ts';

const seg = (value: unknown) => encodeURIComponent(String(value));
const LOCATION = { type: 'string', description: 'Location of the repository (e.g. us-central1).' } as const;

function repositoryPath(ctx: CommandContext, repository: unknown): string {
  const location = ctx.flags.location;
  if (typeof location !== 'string') throw new UsageError('--location is required.');
  return `/v1/projects/${seg(ctx.project())}/locations/${seg(location)}/repositories/${seg(repository)}`;
}

/** `HOST/PROJECT/REPOSITORY` → the repository's resource name (its location found by listing). */
async function findRepository(ctx: CommandContext, text: string): Promise<{ name: string; image: string | undefined }> {
  const [, project, repository, ...image] = text.split('/');
  if (!project || !repository) throw new UsageError(`Expected HOST/PROJECT/REPOSITORY[/IMAGE], got [${text}].`);
  const list = await ctx.api.request<{ repositories?: { name: string }[] }>(
    'GET',
    `/v1/projects/${seg(project)}/locations/-/repositories`,
  );
  const found = list.repositories?.find((r) => r.name.endsWith(`/repositories/${repository}`));
  if (!found) throw new UsageError(`Repository [${project}/${repository}] not found.`);
  return { name: found.name, image: image.length > 0 ? image.join('/') : undefined };
}

export const artifactsCommands: CommandSpec[] = [
  {
    path: ['artifacts', 'repositories', 'create'],
    summary: 'Creates a Docker repository (--repository-format=docker).',
    args: [{ name: 'REPOSITORY', required: true }],
    flags: {
      location: { ...LOCATION, required: true },
      'repository-format': { type: 'string', description: "Only 'docker'.", required: true },
      description: { type: 'string', description: 'Description of the repository.' },
    },
    async run(ctx) {
      if (String(ctx.flags['repository-format']).toLowerCase() !== 'docker')
        throw new UsageError('Only --repository-format=docker is offered.');
      const op = await ctx.api.request<{ response: unknown }>(
        'POST',
        `/v1/projects/${seg(ctx.project())}/locations/${seg(ctx.flags.location)}/repositories`,
        {
          query: { repositoryId: String(ctx.args.REPOSITORY) },
          body: { format: 'DOCKER', ...(ctx.flags.description ? { description: String(ctx.flags.description) } : {}) },
        },
      );
      ctx.err(`Created repository [${ctx.args.REPOSITORY}].`);
      return op.response;
    },
  },
  {
    path: ['artifacts', 'repositories', 'list'],
    summary: 'Lists repositories in a location (all locations when --location is omitted).',
    defaultFormat: 'table(name.basename():label=REPOSITORY, format, mode, description, createTime)',
    flags: { location: LOCATION },
    async run(ctx) {
      const location = typeof ctx.flags.location === 'string' ? ctx.flags.location : '-';
      const list = await ctx.api.request<{ repositories?: unknown[] }>(
        'GET',
        `/v1/projects/${seg(ctx.project())}/locations/${seg(location)}/repositories`,
      );
      return list.repositories ?? [];
    },
  },
  {
    path: ['artifacts', 'repositories', 'describe'],
    summary: 'Describes a repository.',
    args: [{ name: 'REPOSITORY', required: true }],
    flags: { location: { ...LOCATION, required: true } },
    run: (ctx) => ctx.api.request('GET', repositoryPath(ctx, ctx.args.REPOSITORY)),
  },
  {
    path: ['artifacts', 'repositories', 'add-iam-policy-binding'],
    summary: "Adds a member to a role on a repository's IAM policy.",
    args: [{ name: 'REPOSITORY', required: true }],
    flags: { location: { ...LOCATION, required: true }, ...BINDING_FLAGS },
    run: (ctx) =>
      changeIamPolicyBinding(ctx.api, repositoryPath(ctx, ctx.args.REPOSITORY), {
        member: String(ctx.flags.member),
        role: String(ctx.flags.role),
      }),
  },
  {
    path: ['artifacts', 'docker', 'images', 'list'],
    summary: 'Lists images (digests and tags) in HOST/PROJECT/REPOSITORY[/IMAGE].',
    defaultFormat: 'table(uri:label=IMAGE, tags, uploadTime:label=UPLOADED)',
    args: [{ name: 'IMAGE_PATH', required: true }],
    async run(ctx) {
      const { name, image } = await findRepository(ctx, String(ctx.args.IMAGE_PATH));
      const list = await ctx.api.request<{ dockerImages?: { uri: string }[] }>('GET', `/v1/${name}/dockerImages`);
      const images = list.dockerImages ?? [];
      return image === undefined ? images : images.filter((i) => i.uri.split('@')[0]?.endsWith(`/${image}`));
    },
  },
  {
    path: ['artifacts', 'docker', 'images', 'describe'],
    summary: 'Describes an image: digest, tags and signatures (key ids).',
    args: [{ name: 'IMAGE', required: true }],
    async run(ctx) {
      const ref = parseImageArg(ctx.args.IMAGE, false);
      const client = await registryClientFor(ctx, ref);
      const digest = ref.digest ?? (await client.resolve(ref.repository, ref.tag ?? 'latest'));
      const manifest = JSON.parse((await client.getManifest(ref.repository, digest)).bytes.toString('utf8')) as {
        layers?: { size: number }[];
      };
      const tags: string[] = [];
      for (const tag of await client.listTags(ref.repository))
        if (!tag.startsWith('sha256-') && (await client.resolve(ref.repository, tag)) === digest) tags.push(tag);
      const signatures = (await fetchAttachments(client, ref.repository, digest, '.sig')).map((l) => {
        const optional =
          (JSON.parse(l.payload.toString('utf8')) as { optional?: Record<string, string> | null }).optional ?? {};
        const pub = optional['dev.cosignproject.cosign/pub'];
        let keyId = 'unknown';
        try {
          if (pub) keyId = computeKeyId(decodeRawStdBase64(pub));
        } catch {
          keyId = 'invalid';
        }
        return {
          layer: l.descriptor.digest,
          key_id: keyId,
          algorithm: optional['dev.cosignproject.cosign/sigalg'] ?? 'unknown',
        };
      });
      const attestations = (await fetchAttachments(client, ref.repository, digest, '.att')).map(
        (l) => l.descriptor.annotations?.predicateType ?? 'unknown',
      );
      return {
        image_summary: {
          digest,
          fully_qualified_digest: `${ref.registry}/${ref.repository}@${digest}`,
          registry: ref.registry,
          repository: ref.repository,
        },
        tags,
        sizeBytes: (manifest.layers ?? []).reduce((sum, l) => sum + l.size, 0),
        signatures,
        attestations,
      };
    },
  },
  {
    path: ['artifacts', 'docker', 'images', 'import'],
    summary:
      'Puts a base image into a repository: SOURCE is oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], docker://REFERENCE (another registry, through skopeo) or dpkg:PACKAGE[,…] (assembled from Debian packages installed here).',
    args: [
      { name: 'SOURCE', required: true },
      { name: 'IMAGE', required: true },
    ],
    flags: {
      'src-authfile': {
        type: 'string',
        description: 'docker:// sources: a containers auth.json with credentials for that registry.',
      },
    },
    async run(ctx) {
      const source = parseImportSource(String(ctx.args.SOURCE));
      const ref = parseImageArg(ctx.args.IMAGE, false);
      if (ref.digest !== undefined) throw new UsageError('IMAGE names a tag to import to, not a digest.');
      const client = await registryClientFor(ctx, ref);
      const sourceHost = source.kind === 'docker' ? (source.reference.split('/')[0] ?? '') : '';
      const imported = await runStep(
        ctx,
        `importing ${String(ctx.args.SOURCE)}`,
        () =>
          importImage({
            source,
            client,
            repository: ref.repository,
            tag: ref.tag ?? 'latest',
            ...(ctx.flags['src-authfile'] === undefined ? {} : { sourceAuthFile: String(ctx.flags['src-authfile']) }),
            // A local registry on loopback speaks plain HTTP, as the registry client allows it.
            sourceInsecure: /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(sourceHost),
          }),
        (result) => `pulled and pushed image ${result.digest}`,
      );
      const imageReference = formatImageReference({
        registry: ref.registry,
        repository: ref.repository,
        digest: imported.digest,
      });
      ctx.err(`Imported ${String(ctx.args.SOURCE)} as ${formatImageReference(ref)} (${imported.digest}).`);
      return {
        imageReference,
        digest: imported.digest,
        tag: ref.tag ?? 'latest',
        ...(imported.packages === undefined ? {} : { packages: imported.packages }),
      };
    },
  },
];
