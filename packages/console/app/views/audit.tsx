// A project's audit log as a timeline, with filters, and whether its chain of entries still verifies.
import { useState } from 'preact/hooks';
import { get } from '../lib/api.ts';
import { type LogEntry, isRefused, listEntries, logKind, quote, shortMethod, whoOf } from '../lib/audit.ts';
import { useLoad } from '../lib/hooks.ts';
import { Badge, Empty, ErrorNote, Json, Loading, Section, Time } from '../ui.tsx';
import type { Project } from './app.tsx';

interface Filters {
  method: string;
  resource: string;
  principal: string;
  outcome: 'all' | 'allowed' | 'refused';
  log: 'all' | 'audit' | 'data access' | 'workload';
}

const NO_FILTERS: Filters = { method: '', resource: '', principal: '', outcome: 'all', log: 'all' };

/** Server-side where the API can (method, resource, principal); outcome and log kind in the page. */
function toFilter(f: Filters): string {
  return [
    f.method && `protoPayload.methodName:${quote(f.method)}`,
    f.resource && `protoPayload.resourceName:${quote(f.resource)}`,
    f.principal && `protoPayload.authenticationInfo.principalSubject:${quote(f.principal)}`,
  ]
    .filter(Boolean)
    .join(' AND ');
}

export function AuditView({ project }: { project: Project }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [more, setMore] = useState<{ entries: LogEntry[]; token?: string; error?: unknown }>({ entries: [] });
  const chain = useLoad(
    () => get<{ ok: boolean; entries: number; brokenAt?: number }>(`/v1/projects/${project.projectId}/logs:verify`),
    [project.projectId],
  );
  const page = useLoad(async () => {
    const first = await listEntries(project.projectId, { filter: toFilter(filters), pageSize: 100 });
    setMore({ entries: [], ...(first.nextPageToken ? { token: first.nextPageToken } : {}) });
    return first;
  }, [project.projectId, filters]);
  const all = [...(page.value?.entries ?? []), ...more.entries].filter(
    (e) =>
      (filters.outcome === 'all' || (filters.outcome === 'refused') === isRefused(e)) &&
      (filters.log === 'all' || logKind(e) === filters.log),
  );
  const loadMore = async () => {
    if (!more.token) return;
    try {
      const next = await listEntries(project.projectId, {
        filter: toFilter(filters),
        pageSize: 100,
        pageToken: more.token,
      });
      setMore({
        entries: [...more.entries, ...next.entries],
        ...(next.nextPageToken ? { token: next.nextPageToken } : {}),
      });
    } catch (error) {
      setMore({ ...more, error });
    }
  };
  const field = (key: 'method' | 'resource' | 'principal', label: string) => (
    <div class="field">
      <label for={`audit-${key}`}>{label}</label>
      <input
        id={`audit-${key}`}
        value={draft[key]}
        onInput={(e) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value })}
      />
    </div>
  );
  return (
    <>
      <h1>Audit log of {project.projectId}</h1>
      <Section title="Chain verification" id="chain">
        <ErrorNote error={chain.error} />
        {chain.value ? (
          chain.value.ok ? (
            <p data-testid="chain-status">
              <Badge tone="ok">verified</Badge> all {chain.value.entries} entries are chained and unaltered.
            </p>
          ) : (
            <p data-testid="chain-status">
              <Badge tone="bad">broken</Badge> the chain fails at entry {chain.value.brokenAt}: an entry was edited or
              removed.
            </p>
          )
        ) : null}
        <button type="button" onClick={chain.reload}>
          Verify again
        </button>
      </Section>
      <Section title="Timeline" id="timeline">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters(draft);
          }}
        >
          {field('method', 'Method contains')}
          {field('resource', 'Resource contains')}
          {field('principal', 'Principal contains')}
          <div class="field">
            <label for="audit-outcome">Outcome</label>
            <select
              id="audit-outcome"
              value={draft.outcome}
              onChange={(e) =>
                setDraft({ ...draft, outcome: (e.currentTarget as HTMLSelectElement).value as Filters['outcome'] })
              }
            >
              <option value="all">all</option>
              <option value="allowed">allowed</option>
              <option value="refused">refused</option>
            </select>
          </div>
          <div class="field">
            <label for="audit-log">Log</label>
            <select
              id="audit-log"
              value={draft.log}
              onChange={(e) =>
                setDraft({ ...draft, log: (e.currentTarget as HTMLSelectElement).value as Filters['log'] })
              }
            >
              <option value="all">all</option>
              <option value="audit">audit</option>
              <option value="data access">data access</option>
              <option value="workload">workload</option>
            </select>
          </div>
          <button type="submit">Apply filters</button>
        </form>
        <ErrorNote error={page.error} />
        {page.loading ? <Loading what="entries" /> : null}
        {!page.loading && all.length === 0 ? <Empty>No entries match.</Empty> : null}
        <ol class="timeline" aria-label="Log entries, newest first">
          {all.map((e) => (
            <TimelineEntry key={`${e.logName}/${e.insertId}`} entry={e} />
          ))}
        </ol>
        <ErrorNote error={more.error} />
        {more.token ? (
          <button type="button" onClick={loadMore}>
            Older entries
          </button>
        ) : null}
      </Section>
    </>
  );
}

function TimelineEntry({ entry }: { entry: LogEntry }) {
  const proto = entry.protoPayload;
  const refused = isRefused(entry);
  return (
    <li class={refused ? 'refused' : ''}>
      <Time iso={entry.timestamp} />{' '}
      {proto ? (
        <>
          <Badge tone={refused ? 'bad' : 'ok'}>{refused ? `refused: ${proto.status?.code}` : 'allowed'}</Badge>{' '}
          <strong>{shortMethod(proto.methodName)}</strong> <span class="mono">{proto.resourceName}</span>
          <div class="muted mono">{whoOf(entry)}</div>
        </>
      ) : (
        <>
          <Badge tone="neutral">{logKind(entry)}</Badge> <span class="mono">{entry.textPayload ?? ''}</span>
        </>
      )}
      <details>
        <summary>Details</summary>
        <Json value={entry} label="The entry as stored" />
      </details>
    </li>
  );
}
