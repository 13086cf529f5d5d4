// The operator's view: instances (status, platform, image, restarts), one instance in detail, and a new one.
import { useState } from 'preact/hooks';
import { get } from '../lib/api.ts';
import { useLoad } from '../lib/hooks.ts';
import { Badge, Empty, ErrorNote, Loading, Section } from '../ui.tsx';
import type { Project } from './app.tsx';
import { CreateInstance } from './create-instance.tsx';
import { InstanceDetail } from './instance.tsx';

export interface InstanceJson {
  readonly name: string;
  readonly id: string;
  readonly zone: string;
  readonly status: string;
  readonly statusMessage?: string;
  readonly creationTimestamp: string;
  readonly selfLink: string;
  readonly metadata: { readonly items?: readonly { key: string; value: string }[] };
  readonly serviceAccounts: readonly { email: string }[];
  readonly confidentialSpace: {
    readonly imageFamily: string;
    readonly bootCount: number;
    readonly containerRuntime?: string;
    readonly lastExitCode?: number;
  };
}

export function zoneOf(instance: InstanceJson): string {
  return instance.zone.slice(instance.zone.lastIndexOf('/') + 1);
}

export function metadataValue(instance: InstanceJson, key: string): string | undefined {
  return instance.metadata.items?.filter((i) => i.key === key).pop()?.value;
}

export function digestOf(instance: InstanceJson): string {
  return /@(sha256:[0-9a-f]{64})$/.exec(metadataValue(instance, 'tee-image-reference') ?? '')?.[1] ?? '';
}

export function statusTone(status: string): 'ok' | 'bad' | 'warn' {
  return status === 'RUNNING' ? 'ok' : status === 'TERMINATED' ? 'bad' : 'warn';
}

export function OperatorView({ project }: { project: Project }) {
  const instances = useLoad(async () => {
    const list = await get<{ items?: Record<string, { instances?: InstanceJson[] }> }>(
      `/compute/v1/projects/${project.projectId}/aggregated/instances`,
    );
    return Object.values(list.items ?? {}).flatMap((z) => z.instances ?? []);
  }, [project.projectId]);
  const [selected, setSelected] = useState<string | undefined>();
  const list = instances.value ?? [];
  const instance = list.find((i) => i.selfLink === selected) ?? list[0];
  return (
    <>
      <h1>Operator: {project.projectId}</h1>
      <Section title="Instances" id="instances">
        <ErrorNote error={instances.error} />
        {instances.loading && !instances.value ? <Loading what="instances" /> : null}
        {instances.value && list.length === 0 ? <Empty>No instances in this project.</Empty> : null}
        {list.length > 0 ? (
          <table>
            <caption class="sr-only">Instances of this project</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Zone</th>
                <th scope="col">Status</th>
                <th scope="col">Image family</th>
                <th scope="col">Image digest</th>
                <th scope="col">Restarts</th>
                <th scope="col">Runtime</th>
              </tr>
            </thead>
            <tbody>
              {list.map((i) => (
                <tr key={i.selfLink} data-testid="instance-row" aria-selected={i.selfLink === instance?.selfLink}>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(i.selfLink)}>
                      {i.name}
                    </button>
                  </td>
                  <td>{zoneOf(i)}</td>
                  <td>
                    <Badge tone={statusTone(i.status)}>{i.status}</Badge>
                  </td>
                  <td>{i.confidentialSpace.imageFamily}</td>
                  <td class="mono">{digestOf(i).slice(0, 19)}…</td>
                  <td>{Math.max(0, i.confidentialSpace.bootCount - 1)}</td>
                  <td>{i.confidentialSpace.containerRuntime ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <button type="button" onClick={instances.reload}>
          Refresh
        </button>
      </Section>
      {instance ? <InstanceDetail key={instance.selfLink} instance={instance} onChange={instances.reload} /> : null}
      <CreateInstance project={project} onCreated={instances.reload} />
    </>
  );
}
