// The collaborator's keys: who may use each (its IAM policy) and who used it when (its audit log).
import { useState } from 'preact/hooks';
import { isRefused, listEntries, type LogEntry, quote, shortMethod, whoOf } from '../lib/audit.ts';
import { useLoad } from '../lib/hooks.ts';
import { getPolicy, listKeys } from '../lib/kms.ts';
import { Badge, Empty, ErrorNote, Loading, Section, Time } from '../ui.tsx';
import type { Project } from './app.tsx';

export function KeysSection({ project }: { project: Project }) {
  const [location, setLocation] = useState('global');
  const [draft, setDraft] = useState('global');
  const keys = useLoad(() => listKeys(project.projectId, location), [project.projectId, location]);
  return (
    <Section title="Keys and their releases" id="keys">
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          setLocation(draft.trim() || 'global');
        }}
      >
        <label for="kms-location">Location</label>
        <input id="kms-location" value={draft} onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">Show</button>
      </form>
      <ErrorNote error={keys.error} />
      {keys.loading ? <Loading what="keys" /> : null}
      {keys.value && keys.value.length === 0 ? <Empty>No keys in {location}.</Empty> : null}
      {(keys.value ?? []).map((k) => (
        <KeyUses key={k.name} name={k.name} purpose={k.purpose} project={project} />
      ))}
    </Section>
  );
}

/** Every use of `name` (any version) in the project's audit log; `:` matches a suffix, so check it exactly. */
function isAbout(entry: LogEntry, name: string): boolean {
  const resource = entry.protoPayload?.resourceName ?? '';
  const tail = name.slice(name.indexOf('/locations/'));
  return resource.endsWith(tail) || resource.includes(`${tail}/`);
}

/** `principal://…/workloadIdentityPools/POOL/subject/S` → `POOL: S`; anything else as it is. */
function compactPrincipal(principal: string): string {
  const match = /\/workloadIdentityPools\/([^/]+)\/subject\/(.+)$/.exec(principal);
  return match ? `pool ${match[1]}: ${match[2]}` : principal;
}

function KeyUses({ name, purpose, project }: { name: string; purpose: string; project: Project }) {
  const tail = name.slice(name.indexOf('/locations/'));
  const uses = useLoad(
    async () =>
      (
        await listEntries(project.projectId, {
          filter: `protoPayload.resourceName:${quote(tail)} AND protoPayload.methodName:"crypt" OR protoPayload.methodName:"Sign"`,
          pageSize: 50,
        })
      ).entries.filter((e) => isAbout(e, name)),
    [project.projectId, name],
  );
  const policy = useLoad(() => getPolicy(name), [name]);
  return (
    <article class="key" data-testid="key">
      <h3 class="mono">{name.split('/').slice(-3).join('/')}</h3>
      <p class="muted">{purpose}</p>
      <details>
        <summary>Who may use it (IAM policy)</summary>
        <ErrorNote error={policy.error} />
        <ul>
          {(policy.value ?? []).map((b) => (
            <li key={b.role}>
              {b.role}:{' '}
              {b.members.map((m) => (
                <div key={m} class="mono">
                  {m}
                </div>
              ))}
            </li>
          ))}
        </ul>
      </details>
      <h4>Who used it, when</h4>
      <ErrorNote error={uses.error} />
      {uses.loading ? <Loading what="key uses" /> : null}
      {uses.value && uses.value.length === 0 ? <Empty>Nobody has used this key yet.</Empty> : null}
      {uses.value && uses.value.length > 0 ? (
        <table>
          <caption class="sr-only">Uses of this key, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Federated identity / caller</th>
              <th scope="col">Image</th>
              <th scope="col">Instance</th>
            </tr>
          </thead>
          <tbody>
            {uses.value.map((e) => {
              const federation = e.protoPayload?.authenticationInfo?.federation;
              const attributes = federation?.attributes ?? {};
              const image = attributes.image_digest ?? attributes.image_reference ?? '';
              return (
                <tr key={e.insertId} data-testid="key-use">
                  <td>
                    <Time iso={e.timestamp} />
                  </td>
                  <td>
                    {shortMethod(e.protoPayload?.methodName ?? '')}{' '}
                    {isRefused(e) ? <Badge tone="bad">refused</Badge> : <Badge tone="ok">allowed</Badge>}
                  </td>
                  <td class="mono" title={whoOf(e)}>
                    {compactPrincipal(whoOf(e))}
                  </td>
                  <td class="mono">{image}</td>
                  <td class="mono">
                    {federation?.subject?.replace(/^https:\/\/www\.googleapis\.com\/compute\/v1\//, '') ?? ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </article>
  );
}
