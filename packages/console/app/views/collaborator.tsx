// The collaborator's view: its pools and providers (with exchanges, explanations and the playground),
// its keys and who used them, and its results.
import { useState } from 'preact/hooks';
import { useLoad } from '../lib/hooks.ts';
import { listKeys } from '../lib/kms.ts';
import { listPools, listProviders, type Provider } from '../lib/policy.ts';
import { Badge, Empty, ErrorNote, Loading, lastSegment, Section } from '../ui.tsx';
import type { Project } from './app.tsx';
import { KeysSection } from './keys.tsx';
import { ProviderDetail } from './provider.tsx';
import { ResultsSection } from './results.tsx';

export function CollaboratorView({ project }: { project: Project }) {
  const providers = useLoad(async () => {
    const pools = await listPools(project.projectId);
    const all: Provider[] = [];
    for (const pool of pools) all.push(...(await listProviders(pool.name)));
    return { pools, providers: all };
  }, [project.projectId]);
  const keys = useLoad(() => listKeys(project.projectId, 'global'), [project.projectId]);
  const [selected, setSelected] = useState<string | undefined>();
  const list = providers.value?.providers ?? [];
  const provider = list.find((p) => p.name === selected) ?? list[0];
  return (
    <>
      <h1>Collaborator: {project.projectId}</h1>
      <Section title="Workload identity pools and providers" id="pools">
        <ErrorNote error={providers.error} />
        {providers.loading ? <Loading what="pools" /> : null}
        {providers.value && providers.value.pools.length === 0 ? (
          <Empty>
            No workload identity pool in this project (<code>sealroom iam workload-identity-pools create</code>).
          </Empty>
        ) : null}
        <ul class="choices" aria-label="Providers">
          {list.map((p) => (
            <li key={p.name}>
              <button type="button" aria-pressed={p.name === provider?.name} onClick={() => setSelected(p.name)}>
                {lastSegment(p.name.replace(/\/providers\/[^/]+$/, ''))} / {lastSegment(p.name)}
              </button>{' '}
              {p.disabled ? <Badge tone="warn">disabled</Badge> : null}
              {p.state !== 'ACTIVE' ? <Badge tone="warn">{p.state}</Badge> : null}
            </li>
          ))}
        </ul>
      </Section>
      {provider ? (
        <ProviderDetail
          key={provider.name}
          provider={provider}
          project={project}
          keys={keys.value ?? []}
          onSaved={providers.reload}
        />
      ) : null}
      <KeysSection project={project} />
      <ResultsSection project={project} keys={keys.value ?? []} />
    </>
  );
}
