// Shared pieces of the console's pages: errors, loading, key-value lists, JSON, badges, times.
import type { ComponentChildren } from 'preact';
import { ApiError } from './lib/api.ts';

export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const api = error instanceof ApiError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="note error" role="alert">
      {api?.status === 403 ? <strong>Your credentials do not allow this. </strong> : null}
      {message}
      {api?.reason ? <span class="muted"> ({api.reason})</span> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Section({ title, id, children }: { title: string; id?: string; children: ComponentChildren }) {
  return (
    <section class="panel" aria-labelledby={id ? `${id}-title` : undefined}>
      <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      {children}
    </section>
  );
}

export function KeyValues({ rows }: { rows: readonly (readonly [string, ComponentChildren])[] }) {
  return (
    <dl class="kv">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" title={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export type Tone = 'ok' | 'bad' | 'warn' | 'neutral';

export function Badge({ tone, children }: { tone: Tone; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

export function Time({ iso }: { iso: string | undefined }) {
  if (!iso) return null;
  return <time dateTime={iso}>{iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted">{children}</p>;
}

/** The last segment of a resource name, for compact tables. */
export function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
