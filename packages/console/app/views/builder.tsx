// The builder's view: repositories and images; per image its digest, who signed it (k of n keys, checked
// here), its provenance and SBOM, and the command that rebuilds it to compare digests.
import { useState } from 'preact/hooks';
import { get, pathOf } from '../lib/api.ts';
import { type ImageEvidence, loadImageEvidence } from '../lib/cosign.ts';
import { useLoad } from '../lib/hooks.ts';
import { listKeys } from '../lib/kms.ts';
import { Badge, Empty, ErrorNote, Json, KeyValues, Loading, lastSegment, Section, Time } from '../ui.tsx';
import type { Project } from './app.tsx';

interface DockerImage {
  readonly name: string;
  readonly uri: string;
  readonly tags?: readonly string[];
  readonly imageSizeBytes: string;
  readonly uploadTime: string;
}

const ATTACHMENT_TAG = /^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/;

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Key id (SHA-256 of the DER public key) → the KMS key version of this project that holds it. */
async function signingKeysOf(project: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const key of await listKeys(project, 'global')) {
    if (key.purpose !== 'ASYMMETRIC_SIGN') continue;
    const versions =
      (
        await get<{ cryptoKeyVersions?: { name: string; state: string }[] }>(
          `/v1/${pathOf(key.name)}/cryptoKeyVersions`,
        )
      ).cryptoKeyVersions ?? [];
    for (const version of versions.filter((v) => v.state === 'ENABLED')) {
      const { pem } = await get<{ pem: string }>(`/v1/${pathOf(version.name)}/publicKey`);
      const der = Uint8Array.from(atob(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')), (c) =>
        c.charCodeAt(0),
      );
      ids.set(hex(await crypto.subtle.digest('SHA-256', der)), version.name);
    }
  }
  return ids;
}

export function BuilderView({ project }: { project: Project }) {
  const [location, setLocation] = useState('us-central1');
  const [draft, setDraft] = useState('us-central1');
  const images = useLoad(async () => {
    const repos =
      (
        await get<{ repositories?: { name: string; format: string }[] }>(
          `/v1/projects/${project.projectId}/locations/${location}/repositories`,
        )
      ).repositories ?? [];
    return Promise.all(
      repos.map(async (r) => ({
        repository: r.name,
        // cosign keeps signatures and attestations as tagged manifests (sha256-<hex>.sig/.att); they belong to
        // their image, shown with it, not listed as images of their own.
        images: (
          (await get<{ dockerImages?: DockerImage[] }>(`/v1/${pathOf(r.name)}/dockerImages`)).dockerImages ?? []
        ).filter((i) => !(i.tags ?? []).some((t) => ATTACHMENT_TAG.test(t))),
      })),
    );
  }, [project.projectId, location]);
  const [selected, setSelected] = useState<string | undefined>();
  const all = (images.value ?? []).flatMap((r) => r.images);
  const image = all.find((i) => i.uri === selected) ?? all[0];
  return (
    <>
      <h1>Builder: {project.projectId}</h1>
      <Section title="Repositories and images" id="repositories">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setLocation(draft.trim() || 'us-central1');
          }}
        >
          <label for="ar-location">Location</label>
          <input
            id="ar-location"
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit">Show</button>
        </form>
        <ErrorNote error={images.error} />
        {images.loading ? <Loading what="repositories" /> : null}
        {images.value && images.value.length === 0 ? <Empty>No repositories in {location}.</Empty> : null}
        {(images.value ?? []).map((r) => (
          <div key={r.repository}>
            <h3 class="mono">{lastSegment(r.repository)}</h3>
            {r.images.length === 0 ? <Empty>No images yet.</Empty> : null}
            <ul class="choices">
              {r.images.map((i) => (
                <li key={i.uri}>
                  <button type="button" aria-pressed={i.uri === image?.uri} onClick={() => setSelected(i.uri)}>
                    {i.uri
                      .split('/')
                      .slice(3)
                      .join('/')
                      .replace(/@sha256:(.{12}).*/, '@sha256:$1…')}
                  </button>{' '}
                  {(i.tags ?? []).map((t) => (
                    <Badge key={t} tone="neutral">
                      {t}
                    </Badge>
                  ))}
                </li>
              ))}
            </ul>
          </div>
        ))}
      </Section>
      {image ? <ImageDetail key={image.uri} image={image} project={project} /> : null}
    </>
  );
}

function ImageDetail({ image, project }: { image: DockerImage; project: Project }) {
  const [, repoAndDigest = ''] = /^[^/]+\/(.+)$/.exec(image.uri) ?? [];
  const [repo = '', digest = ''] = repoAndDigest.split('@');
  const evidence = useLoad(() => loadImageEvidence(repo, digest), [repo, digest]);
  const keys = useLoad(() => signingKeysOf(project.projectId), [project.projectId]);
  const rebuild = `test "$(npx sealroom build SOURCE_DIR --no-push --format='value(digest)')" = "${digest}" && echo "rebuilt: same digest"`;
  return (
    <Section title={`Image ${repo.split('/').slice(1).join('/')}`} id="image">
      <KeyValues
        rows={[
          [
            'Digest',
            <span class="mono" data-testid="image-digest">
              {digest}
            </span>,
          ],
          ['Tags', (image.tags ?? []).join(', ') || '—'],
          ['Manifest size', `${image.imageSizeBytes} bytes`],
          ['Uploaded', <Time iso={image.uploadTime} />],
        ]}
      />
      <h3>Rebuild check</h3>
      <p>Anyone can rebuild the image from its source and compare digests; the same source gives the same digest.</p>
      <pre class="code copy">{rebuild}</pre>
      <button type="button" onClick={() => void navigator.clipboard?.writeText(rebuild)}>
        Copy command
      </button>
      <ErrorNote error={evidence.error} />
      {evidence.loading ? <Loading what="signatures and attestations" /> : null}
      {evidence.value ? <Evidence evidence={evidence.value} kmsKeys={keys.value} /> : null}
    </Section>
  );
}

function Evidence({ evidence, kmsKeys }: { evidence: ImageEvidence; kmsKeys: Map<string, string> | undefined }) {
  const policy = Object.entries(evidence.config?.labels ?? {}).filter(([k]) => k.startsWith('tee.'));
  const n = evidence.signatures.length;
  return (
    <>
      <h3>Signatures</h3>
      <p data-testid="signed-by">
        {n === 0 ? (
          <Badge tone="warn">unsigned</Badge>
        ) : (
          <Badge tone={evidence.signedBy.length === n ? 'ok' : 'warn'}>
            {evidence.signedBy.length} of {n} signatures verify
          </Badge>
        )}{' '}
        {n === 0 ? (
          <span>
            Sign it with <code>sealroom sign IMAGE@DIGEST --key kms://…</code>; co-signers append theirs.
          </span>
        ) : (
          <span>
            {evidence.signedBy.length} distinct key{evidence.signedBy.length === 1 ? '' : 's'} signed this digest.
          </span>
        )}
      </p>
      {n > 0 ? (
        <table>
          <caption class="sr-only">Signatures of this image</caption>
          <thead>
            <tr>
              <th scope="col">Key id (SHA-256 of the public key)</th>
              <th scope="col">Algorithm</th>
              <th scope="col">KMS key of this project</th>
              <th scope="col">Verifies</th>
            </tr>
          </thead>
          <tbody>
            {evidence.signatures.map((s) => (
              <tr key={s.layer} data-testid="signature">
                <td class="mono">{s.keyId}</td>
                <td>{s.algorithm}</td>
                <td class="mono">{kmsKeys?.get(s.keyId) ?? '—'}</td>
                <td>
                  {s.valid ? <Badge tone="ok">yes</Badge> : <Badge tone="bad">no</Badge>}{' '}
                  {s.reason ? <span class="muted">{s.reason}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h3>Launch policy (labels)</h3>
      {policy.length === 0 ? <Empty>No tee.* labels.</Empty> : null}
      <KeyValues rows={policy.map(([k, v]) => [k, <span class="mono">{v}</span>] as const)} />
      <h3>Provenance and SBOM</h3>
      {evidence.attestations.length === 0 ? (
        <Empty>
          No attestations: <code>sealroom build --predicates-dir DIR</code> writes them and <code>sealroom attest</code>{' '}
          attaches them.
        </Empty>
      ) : null}
      {evidence.attestations.map((a) => (
        <article key={a.predicateType + a.keyIds.join()} class="attestation" data-testid="attestation">
          <h4 class="mono">{a.predicateType}</h4>
          <p>
            {a.verified ? (
              <Badge tone="ok">signed by {a.keyIds.length} of the image's keys</Badge>
            ) : (
              <Badge tone="warn">not signed by an image key</Badge>
            )}{' '}
            {a.subjectMatches ? (
              <Badge tone="ok">about this digest</Badge>
            ) : (
              <Badge tone="bad">about another digest</Badge>
            )}
          </p>
          <PredicateSummary type={a.predicateType} predicate={a.predicate} />
        </article>
      ))}
    </>
  );
}

function PredicateSummary({ type, predicate }: { type: string; predicate: unknown }) {
  // biome-ignore lint/suspicious/noExplicitAny: predicates are read field by field, each shown as text
  const p = (predicate ?? {}) as Record<string, any>;
  if (type.startsWith('https://slsa.dev/provenance/')) {
    const definition = p.buildDefinition ?? {};
    return (
      <>
        <KeyValues
          rows={[
            ['Build type', <span class="mono">{String(definition.buildType ?? '')}</span>],
            ['Builder', <span class="mono">{String(p.runDetails?.builder?.id ?? '')}</span>],
            [
              'Source digest',
              <span class="mono">{String(definition.externalParameters?.source?.digest?.sha256 ?? '')}</span>,
            ],
          ]}
        />
        <details>
          <summary>The whole provenance</summary>
          <Json value={predicate} label="Provenance" />
        </details>
      </>
    );
  }
  if (type.includes('cyclonedx')) {
    const components = (p.components ?? []) as { name?: string; version?: string; purl?: string }[];
    return (
      <>
        <p>
          {components.length} components{components.length > 20 ? ' (the first 20)' : ''}.
        </p>
        <ul class="components">
          {components.slice(0, 20).map((c) => (
            <li key={c.purl ?? c.name} class="mono">
              {c.purl ?? `${c.name}@${c.version}`}
            </li>
          ))}
        </ul>
      </>
    );
  }
  return <Json value={predicate} label="Predicate" />;
}
